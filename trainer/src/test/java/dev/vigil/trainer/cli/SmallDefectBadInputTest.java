package dev.vigil.trainer.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.trainer.SharedAssets;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Bad input to the small-defect options (geometry, head, parts, folds): one clear line naming what was wrong and what
 * to do, exit 1, and no package written.
 */
class SmallDefectBadInputTest {
    @TempDir
    Path tmp;

    private String line(String... args) {
        String[] full = new String[args.length + 4];
        full[0] = "--cache";
        full[1] = tmp.resolve("cache").toString();
        full[2] = "--model-cache";
        full[3] = tmp.resolve("models").toString();
        System.arraycopy(args, 0, full, 4, args.length);
        StringWriter err = new StringWriter();
        CommandLine cmd = Cli.configure(new CommandLine(new TrainCommand()), full);
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(full);
        assertEquals(1, code, err.toString());
        String[] lines = err.toString().strip().split("\n");
        assertEquals(1, lines.length, "expected exactly one line, got: " + err);
        assertFalse(Files.exists(tmp.resolve("out")), "a package was written");
        return lines[0];
    }

    private Path dataset(String... classes) throws Exception {
        Path root = tmp.resolve("data");
        var imgs = Files.list(SharedAssets.neu().resolve("crazing")).sorted().toList();
        int at = 0;
        for (String c : classes) {
            Path d = Files.createDirectories(root.resolve(c));
            for (int i = 0; i < 3; i++) {
                Files.createSymbolicLink(d.resolve("img" + i + ".jpg"), imgs.get(at++));
            }
        }
        return root;
    }

    private String[] base(Path data, String... more) {
        String[] head = {"--data", data.toString(), "--backbone", SharedAssets.squeezenet().toString(), "--out",
            tmp.resolve("out").toString()};
        String[] all = new String[head.length + more.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(more, 0, all, head.length, more.length);
        return all;
    }

    @Test
    void aGroupByThatMatchesNoFileNameSaysSoAndWritesNothing() throws Exception {
        String l = line(base(dataset("defective", "ok"), "--group-by", "^(part\\d+)_"));
        assertTrue(l.startsWith("vigil train: --group-by '^(part\\d+)_'"), l);
        assertTrue(l.contains("img0.jpg"), "the message should show a file name it tried: " + l);
    }

    @Test
    void aGeometryTheBackboneCannotTake() throws Exception {
        Path data = dataset("defective", "ok");
        String tiny = line(base(data, "--input", "16x16"));
        assertTrue(tiny.startsWith("vigil train: input width 16 is outside 32..4096 pixels"), tiny);
        String garbled = line(base(data, "--input", "512by1280"));
        assertEquals("vigil train: --input '512by1280' is not WIDTHxHEIGHT; give e.g. --input 512x1280", garbled);
        String both = line(base(data, "--size", "224", "--long-side", "800"));
        assertEquals("vigil train: give at most one of --size, --input and --long-side", both);
    }

    @Test
    void thePatchHeadNeedsFrozenFeaturesAndFoldsNeedTwo() throws Exception {
        Path data = dataset("defective", "ok");
        String patch = line(base(data, "--head", "patch", "--unfreeze", "1"));
        assertTrue(patch.startsWith("vigil train: --head patch trains a new head on frozen features: use --unfreeze 0"),
                patch);
        String folds = line(base(data, "--folds", "1"));
        assertEquals("vigil train: --folds must be 0 (no cross-validation) or 2..20, found 1", folds);
        String head = line(base(data, "--head", "cam"));
        assertEquals("vigil train: --head must be auto, pooled or patch, found 'cam'", head);
    }
}
