package dev.vigil.app.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.image.OpenCv;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;

class FolderSourceTest {

    @BeforeAll
    static void loadOpenCv() {
        OpenCv.load();
    }

    /** Writes a 32x24 image of one colour (B = G = R = value). */
    static void image(Path file, int value) {
        Mat m = new Mat(24, 32, CvType.CV_8UC3, new Scalar(value, value, value));
        assertTrue(Imgcodecs.imwrite(file.toString(), m), "cannot write " + file);
        m.release();
    }

    /** A folder with b.png, a.jpg, C.BMP, d.TIFF, e.jpeg (in name order: C.BMP, a.jpg, b.png, d.TIFF, e.jpeg). */
    static Path fiveImages(Path dir) throws IOException {
        image(dir.resolve("b.png"), 20);
        image(dir.resolve("a.jpg"), 10);
        image(dir.resolve("C.BMP"), 200);
        image(dir.resolve("d.TIFF"), 40);
        image(dir.resolve("e.jpeg"), 50);
        Files.writeString(dir.resolve("notes.txt"), "not an image");
        Files.writeString(dir.resolve(".hidden.jpg"), "macOS resource fork");
        Files.createDirectory(dir.resolve("sub.png"));
        return dir;
    }

    private static List<String> names(FolderSource s, int n) throws IOException {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Mat m = s.read();
            assertNotNull(m, "frame " + i);
            assertFalse(m.empty(), s.lastName());
            assertEquals(CvType.CV_8UC3, m.type());
            names.add(s.lastName());
            m.release();
        }
        return names;
    }

    @Test
    void replaysImagesInNameOrderOnce(@TempDir Path dir) throws IOException {
        try (FolderSource s = new FolderSource(fiveImages(dir), false)) {
            s.open();
            assertEquals(5, s.imageCount());
            List<String> expected = List.of("C.BMP", "a.jpg", "b.png", "d.TIFF", "e.jpeg");
            assertEquals(expected.subList(0, 4), names(s, 4));
            assertFalse(s.finished());
            assertEquals(List.of("e.jpeg"), names(s, 1));
            assertTrue(s.finished(), "finished as the last image is returned");
            assertNull(s.read());
            assertNull(s.read());
            assertTrue(s.finished());
        }
    }

    @Test
    void pixelsComeFromTheRightFiles(@TempDir Path dir) throws IOException {
        try (FolderSource s = new FolderSource(fiveImages(dir), false)) {
            s.open();
            int[] expected = {200, 10, 20, 40, 50};
            for (int v : expected) {
                Mat m = s.read();
                double[] px = m.get(12, 16);
                assertArrayEquals(new double[] {v, v, v}, px, 3, s.lastName());
                m.release();
            }
        }
    }

    @Test
    void loopStartsAgainAtTheEnd(@TempDir Path dir) throws IOException {
        try (FolderSource s = new FolderSource(fiveImages(dir), true)) {
            s.open();
            List<String> names = names(s, 12);
            assertEquals(List.of("C.BMP", "a.jpg", "b.png", "d.TIFF", "e.jpeg", "C.BMP", "a.jpg", "b.png", "d.TIFF",
                    "e.jpeg", "C.BMP", "a.jpg"), names);
            assertFalse(s.finished());
        }
    }

    @Test
    void reopeningStartsAgain(@TempDir Path dir) throws IOException {
        FolderSource s = new FolderSource(fiveImages(dir), false);
        s.open();
        names(s, 5);
        assertTrue(s.finished());
        s.close();
        s.open();
        assertFalse(s.finished());
        assertEquals(List.of("C.BMP"), names(s, 1));
        s.close();
    }

    @Test
    void aCorruptFileGivesAnEmptyFrame(@TempDir Path dir) throws IOException {
        image(dir.resolve("1.png"), 10);
        Files.write(dir.resolve("2.jpg"), new byte[] {(byte) 0xff, (byte) 0xd8, 1, 2, 3, 4, 5});
        Files.write(dir.resolve("3.png"), new byte[0]);
        image(dir.resolve("4.png"), 40);
        try (FolderSource s = new FolderSource(dir, false)) {
            s.open();
            Mat m = s.read();
            assertFalse(m.empty());
            m.release();
            for (String corrupt : List.of("2.jpg", "3.png")) {
                m = s.read();
                assertNotNull(m);
                assertTrue(m.empty(), corrupt);
                assertEquals(corrupt, s.lastName());
                m.release();
            }
            m = s.read();
            assertFalse(m.empty());
            assertEquals("4.png", s.lastName());
            m.release();
            assertTrue(s.finished());
        }
    }

    @Test
    void aMissingFolderFailsToOpenNamingIt(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-folder");
        try (FolderSource s = new FolderSource(missing, true)) {
            IOException e = assertThrows(IOException.class, s::open);
            assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        }
    }

    @Test
    void aFolderWithoutImagesFailsToOpen(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("readme.txt"), "no images here");
        try (FolderSource s = new FolderSource(dir, true)) {
            IOException e = assertThrows(IOException.class, s::open);
            assertTrue(e.getMessage().contains("holds no images"), e.getMessage());
            assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
        }
    }

    @Test
    void recognisesImageNames() {
        assertTrue(FolderSource.isImage(Path.of("x/a.JPG")));
        assertTrue(FolderSource.isImage(Path.of("a.tif")));
        assertFalse(FolderSource.isImage(Path.of("a.gif")));
        assertFalse(FolderSource.isImage(Path.of(".a.png")));
        assertFalse(FolderSource.isImage(Path.of("png")));
    }
}
