package dev.vigil.trainer.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.trainer.SharedAssets;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Every bad input exits non-zero with one line that says what was wrong and where, and no stack trace. */
class BadInputTest {
    @TempDir
    Path tmp;

    private record Run(int code, String err) {
        String line() {
            String[] lines = err.strip().split("\n");
            assertEquals(1, lines.length, "expected exactly one line, got: " + err);
            return lines[0];
        }
    }

    private Run train(String... args) {
        String[] full = new String[args.length + 4];
        full[0] = "--cache";
        full[1] = tmp.resolve("cache").toString();
        full[2] = "--model-cache";
        full[3] = tmp.resolve("models").toString();
        System.arraycopy(args, 0, full, 4, args.length);
        return run(new TrainCommand(), full);
    }

    private static Run run(Object command, String... args) {
        StringWriter err = new StringWriter();
        CommandLine cmd = Cli.configure(new CommandLine(command), args);
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new Run(code, err.toString());
    }

    private Path datasetWith(int... perClass) throws Exception {
        Path root = tmp.resolve("data");
        Path src = SharedAssets.neu().resolve("crazing");
        var imgs = Files.list(src).sorted().toList();
        int at = 0;
        for (int c = 0; c < perClass.length; c++) {
            Path d = Files.createDirectories(root.resolve("class" + c));
            for (int i = 0; i < perClass[c]; i++) {
                Files.createSymbolicLink(d.resolve("img" + i + ".jpg"), imgs.get(at++));
            }
        }
        return root;
    }

    @Test
    void missingDataFolder() {
        Run r = train("--data", tmp.resolve("nope").toString(), "--backbone", "squeezenet1.1-fp16", "--out",
                tmp.resolve("out").toString());
        assertEquals(1, r.code());
        assertEquals("vigil train: dataset folder " + tmp.resolve("nope") + " does not exist; give a folder with one"
                + " sub-folder of images per class", r.line());
    }

    @Test
    void emptyDataFolder() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Run r = train("--data", empty.toString(), "--backbone", "squeezenet1.1-fp16", "--out",
                tmp.resolve("out").toString());
        assertEquals(1, r.code());
        assertTrue(r.line().startsWith("vigil train: dataset folder " + empty + " holds no class folders with images"),
                r.line());
    }

    @Test
    void aClassWithOneImage() throws Exception {
        Path data = datasetWith(3, 1);
        Run r = train("--data", data.toString(), "--backbone", SharedAssets.squeezenet().toString(), "--out",
                tmp.resolve("out").toString());
        assertEquals(1, r.code());
        assertTrue(r.line().startsWith("vigil train: class 'class1' (" + data.resolve("class1") + ") has only 1 image;"),
                r.line());
    }

    @Test
    void unknownBackbone() throws Exception {
        Run r = train("--data", datasetWith(2, 2).toString(), "--backbone", "alexnet", "--out",
                tmp.resolve("out").toString());
        assertEquals(1, r.code());
        assertTrue(r.line().startsWith("vigil train: unknown backbone 'alexnet': use one of squeezenet1.1-fp16"),
                r.line());
    }

    @Test
    void corruptBackboneFile() throws Exception {
        Path bad = tmp.resolve("model.onnx");
        Files.write(bad, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        Run r = train("--data", datasetWith(2, 2).toString(), "--backbone", bad.toString(), "--out",
                tmp.resolve("out").toString());
        assertEquals(1, r.code());
        assertTrue(r.line().startsWith("vigil train: " + bad + " is not a valid ONNX model"), r.line());
    }

    @Test
    void badFlagValues() throws Exception {
        String data = datasetWith(2, 2).toString();
        Run notANumber = train("--data", data, "--backbone", "x", "--out", "o", "--epochs", "many");
        assertEquals(2, notANumber.code());
        assertTrue(notANumber.line().contains("'many' is not an int"), notANumber.line());
        Run negative = train("--data", data, "--backbone", "x", "--out", "o", "--unfreeze", "-1");
        assertEquals(1, negative.code());
        assertEquals("vigil train: --unfreeze must be 0 or more, found -1", negative.line());
        Run pool = train("--data", data, "--backbone", "x", "--out", "o", "--pool", "median");
        assertEquals("vigil train: --pool: unknown pooling 'median'; use avg, max, avgmax or avgstd", pool.line());
        Run init = train("--data", data, "--backbone", "x", "--out", "o", "--init", "imagenet");
        assertEquals("vigil train: --init must be pretrained or random, found 'imagenet'", init.line());
    }

    @Test
    void unfreezeBeyondTheBackbone() throws Exception {
        Run r = train("--data", datasetWith(2, 2).toString(), "--backbone", SharedAssets.squeezenet().toString(),
                "--out", tmp.resolve("out").toString(), "--unfreeze", "12");
        assertEquals(1, r.code());
        assertEquals("vigil train: --unfreeze 12 is out of range: this backbone has 8 blocks before its classifier,"
                + " so --unfreeze must be between 0 and 7", r.line());
    }

    @Test
    void classifyANonImageFile() throws Exception {
        Path pkg = Files.createDirectories(tmp.resolve("pkg"));
        Run missing = run(new ClassifyCommand(), "--model", pkg.toString(), tmp.resolve("a.jpg").toString());
        assertEquals(1, missing.code());
        assertEquals("vigil classify: model package " + pkg + " has no manifest.json; it is not a complete package:"
                + " train it again", missing.line());
    }

    @Test
    void evaluateAMissingPackage() {
        Run r = run(new EvaluateCommand(), "--model", tmp.resolve("none").toString(), "--data", tmp.toString());
        assertEquals(1, r.code());
        assertTrue(r.line().startsWith("vigil evaluate: model package " + tmp.resolve("none") + " does not exist"),
                r.line());
    }
}
