package dev.vigil.trainer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vigil.core.VigilException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabelTableTest {
    @TempDir
    Path tmp;

    @BeforeEach
    void images() throws Exception {
        Files.createDirectories(tmp.resolve("img"));
        for (String n : List.of("a.png", "b.png", "c.png", "d, e.png")) {
            Files.write(tmp.resolve("img").resolve(n), new byte[] {1});
        }
    }

    private Path csv(String... lines) throws Exception {
        Path p = tmp.resolve("labels.csv");
        Files.write(p, List.of(lines));
        return p;
    }

    @Test
    void readsHeadsClassesAndUnknownCells() throws Exception {
        Path abs = tmp.resolve("img/c.png").toAbsolutePath();
        LabelTable t = LabelTable.read(csv("file,product,verdict", "img/a.png,casting,ok", "img/b.png,commutator,",
                abs + ",casting,defect", "\"img/d, e.png\",,defect", ""));
        assertEquals(List.of("product", "verdict"), t.heads());
        assertEquals(List.of(List.of("casting", "commutator"), List.of("defect", "ok")), t.classes());
        assertEquals(4, t.rows().size());
        assertArrayEquals(new int[] {0, 1}, t.rows().get(0).labels());
        assertArrayEquals(new int[] {1, -1}, t.rows().get(1).labels(), "an empty cell is unknown");
        assertArrayEquals(new int[] {-1, 0}, t.rows().get(3).labels());
        assertEquals(abs, t.rows().get(2).file(), "absolute paths are kept");
        assertEquals(tmp.resolve("img/a.png").toAbsolutePath(), t.rows().get(0).file(), "relative to the CSV");
        assertEquals(3, t.labelled(0));
        assertEquals(3, t.labelled(1));
    }

    private String refused(String... lines) throws Exception {
        return assertThrows(VigilException.class, () -> LabelTable.read(csv(lines))).getMessage();
    }

    @Test
    void eachBadInputIsOneClearLine() throws Exception {
        assertEquals("labels.csv line 3: file 'img/zz.png' (" + tmp.resolve("img/zz.png").toAbsolutePath()
                + ") does not exist; fix the path (absolute, or relative to " + tmp.toAbsolutePath() + ")",
                refused("file,verdict", "img/a.png,ok", "img/zz.png,defect"));
        assertEquals("labels.csv line 4: 'img/a.png' is listed twice (lines 2 and 4); give each image one row, with"
                + " a class per head", refused("file,verdict", "img/a.png,ok", "img/b.png,defect", "img/a.png,ok"));
        assertEquals("head 'product' in labels.csv has only one class ('casting'); a head needs at least two classes:"
                + " label images of another class, or drop the column",
                refused("file,product,verdict", "img/a.png,casting,ok", "img/b.png,casting,defect"));
        assertEquals("labels.csv line 1: the header must be file followed by one column per head, e.g."
                + " file,product,verdict; found 'image,verdict'", refused("image,verdict", "img/a.png,ok"));
        assertEquals("labels.csv line 2: 2 cells where the header has 3 (file and 2 heads); leave a cell empty for"
                + " an unknown class, but keep its comma", refused("file,product,verdict", "img/a.png,ok"));
        assertEquals("labels.csv line 1: head 'verdict' appears twice; name each head once",
                refused("file,verdict,verdict", "img/a.png,ok,ok"));
        String unclosed = refused("file,verdict", "img/a.png,ok", "img/b.png,defect", "\"img/c.png,ok");
        assertEquals("labels.csv line 4: a quote is opened and never closed", unclosed);
    }
}
