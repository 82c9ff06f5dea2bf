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
    void adaptNamesAWrongInputModeBeforeReadingAnything() {
        Run r = run(new AdaptCommand(), "--model", tmp.resolve("no-such-package").toString(), "--data",
                tmp.toString(), "--out", tmp.resolve("out").toString(), "--input", "maybe");
        assertEquals(1, r.code());
        assertEquals("vigil adapt: --input must be auto (the input normalisation is re-estimated when that brings the"
                + " frames nearer the training images), on or off, found 'maybe'", r.line());
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
    void labelsAndDataAreEitherOrAndTheVerdictHeadMustExist() throws Exception {
        String data = datasetWith(2, 2).toString();
        Path img = Files.list(Path.of(data, "class0")).findFirst().orElseThrow();
        Path csv = tmp.resolve("labels.csv");
        Files.writeString(csv, "file,product,quality\n" + img.toRealPath() + ",a,x\n"
                + Files.list(Path.of(data, "class1")).findFirst().orElseThrow().toRealPath() + ",b,y\n");
        Run both = train("--data", data, "--labels", csv.toString(), "--backbone", "x", "--out", "o");
        assertEquals(1, both.code());
        assertEquals("vigil train: give either --data DIR (one sub-folder per class) or --labels FILE.csv (one"
                + " column per head), not both", both.line());
        Run neither = train("--backbone", "x", "--out", "o");
        assertTrue(neither.line().endsWith("not neither"), neither.line());
        Run noVerdict = train("--labels", csv.toString(), "--backbone", "x", "--out", "o");
        assertEquals("vigil train: labels.csv has heads [product, quality] and none is named 'verdict'; say which"
                + " one the service decides on with --verdict-head NAME", noVerdict.line());
        Run unknown = train("--labels", csv.toString(), "--verdict-head", "colour", "--backbone", "x", "--out", "o");
        assertEquals("vigil train: --verdict-head 'colour' is not a head of labels.csv; its heads are [product,"
                + " quality]", unknown.line());
        Run stray = train("--data", data, "--verdict-head", "quality", "--backbone", "x", "--out", "o");
        assertTrue(stray.line().contains("--verdict-head names a column of --labels"), stray.line());
        assertFalse(Files.exists(tmp.resolve("o")));
    }

    @Test
    void aBadLearningCurveValueOrOneWithoutCrossValidationIsNamed() throws Exception {
        String data = datasetWith(2, 2).toString();
        Run bad = train("--data", data, "--backbone", "x", "--out", "o", "--learning-curve", "maybe");
        assertEquals(1, bad.code());
        assertEquals("vigil train: --learning-curve must be on (each cross-validation fold also trains on 25%, 50%"
                + " and 75% of its training images) or off, found 'maybe'", bad.line());
        Run noFolds = train("--data", data, "--backbone", "x", "--out", "o", "--learning-curve", "on", "--folds",
                "0");
        assertEquals(1, noFolds.code());
        assertTrue(noFolds.line().startsWith("vigil train: --learning-curve on trains on parts of each"
                + " cross-validation fold's training images, but --folds 0 turns cross-validation off"),
                noFolds.line());
        Run anomaly = train("--data", data, "--backbone", "x", "--out", "o", "--learning-curve", "ON", "--anomaly");
        assertEquals(1, anomaly.code());
        assertTrue(anomaly.line().contains("an anomaly model learns from good parts alone and has no learning"
                + " curve"), anomaly.line());
        assertFalse(Files.exists(tmp.resolve("o")));
    }

    @Test
    void badFlagValues() throws Exception {
        String data = datasetWith(2, 2).toString();
        Run notANumber = train("--data", data, "--backbone", "x", "--out", "o", "--epochs", "many");
        assertEquals(2, notANumber.code());
        assertTrue(notANumber.line().contains("'many' is not an int"), notANumber.line());
        Run negative = train("--data", data, "--backbone", "x", "--out", "o", "--unfreeze", "-1");
        assertEquals(1, negative.code());
        assertEquals("vigil train: --unfreeze must be a number of blocks (0 or more) or all, found '-1'",
                negative.line());
        Run word = train("--data", data, "--backbone", "x", "--out", "o", "--unfreeze", "most");
        assertEquals("vigil train: --unfreeze must be a number of blocks (0 or more) or all, found 'most'",
                word.line());
        Run schedule = train("--data", data, "--backbone", "x", "--out", "o", "--schedule", "progressive:0");
        assertEquals("vigil train: --schedule must be constant or progressive[:E] with E a whole number of epochs"
                + " of 1 or more, found 'progressive:0'", schedule.line());
        Run bn = train("--data", data, "--backbone", "x", "--out", "o", "--bn", "fixed");
        assertEquals("vigil train: --bn must be frozen (keep the pretrained BatchNorm statistics) or train (use and"
                + " update batch statistics), found 'fixed'", bn.line());
        Run decay = train("--data", data, "--backbone", "x", "--out", "o", "--lr-decay", "1.5");
        assertEquals("vigil train: --lr-decay must be in (0, 1] (the factor per block towards the input), found 1.5",
                decay.line());
        Run pool = train("--data", data, "--backbone", "x", "--out", "o", "--pool", "median");
        assertEquals("vigil train: --pool: unknown pooling 'median'; use avg, max, avgmax or avgstd", pool.line());
        Run init = train("--data", data, "--backbone", "x", "--out", "o", "--init", "imagenet");
        assertEquals("vigil train: --init must be pretrained or random, found 'imagenet'", init.line());
    }

    @Test
    void unfreezeBeyondTheBackbone() throws Exception {
        String data = datasetWith(2, 2).toString();
        Run r = train("--data", data, "--backbone", SharedAssets.squeezenet().toString(),
                "--out", tmp.resolve("out").toString(), "--unfreeze", "12");
        assertEquals(1, r.code());
        assertEquals("vigil train: --unfreeze 12 is out of range: this backbone has 8 blocks before its classifier,"
                + " so --unfreeze must be between 0 and 8 (8 = all: every layer)", r.line());
        Run frozenProgressive = train("--data", data, "--backbone",
                SharedAssets.squeezenet().toString(), "--out", tmp.resolve("out2").toString(), "--schedule",
                "progressive", "--unfreeze", "0");
        assertEquals(1, frozenProgressive.code());
        assertEquals("vigil train: --schedule progressive unfreezes pretrained blocks one by one: it needs --init"
                + " pretrained and --unfreeze of 1 or more (or all, the default with it)", frozenProgressive.line());
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

    private Path goodOnly(String folder, int images) throws Exception {
        Path root = tmp.resolve("good-" + folder + "-" + images);
        Path d = Files.createDirectories(root.resolve(folder));
        var imgs = Files.list(SharedAssets.casting().resolve("train/ok")).sorted().toList();
        for (int i = 0; i < images; i++) {
            Files.createSymbolicLink(d.resolve("img" + i + ".jpeg"), imgs.get(i));
        }
        return root;
    }

    @Test
    void tilesThatCannotBeUsedSayWhy() throws Exception {
        Path data = datasetWith(3, 3);
        Run bad = train("--data", data.toString(), "--backbone", SharedAssets.squeezenet().toString(), "--out",
                tmp.resolve("out").toString(), "--tiles", "2by1");
        assertEquals("vigil train: --tiles '2by1' is not COLSxROWS; give e.g. --tiles 2x1", bad.line());
        Run trained = train("--data", data.toString(), "--backbone", SharedAssets.squeezenet().toString(), "--out",
                tmp.resolve("out").toString(), "--tiles", "2x1", "--unfreeze", "1");
        assertEquals("vigil train: --tiles stitches the frozen backbone's feature maps: use --unfreeze 0 (and"
                + " --init pretrained)", trained.line());
        Run overlap = train("--data", data.toString(), "--backbone", SharedAssets.squeezenet().toString(), "--out",
                tmp.resolve("out").toString(), "--tiles", "2x1", "--tile-overlap", "40");
        assertEquals("vigil train: --tile-overlap 40 must be 0 or a multiple of 32 pixels (e.g. 64)", overlap.line());
        assertTrue(Files.notExists(tmp.resolve("out")));
    }

    @Test
    void combineOnADatasetThatCannotHaveAMemorySaysWhy() throws Exception {
        Path data = datasetWith(3, 3);
        Run r = train("--data", data.toString(), "--backbone", SharedAssets.squeezenet().toString(),
                "--out", tmp.resolve("out").toString(), "--combine", "on");
        assertEquals(1, r.code());
        assertEquals("vigil train: --combine on: the dataset has no good-part folder (ok, good, pass or normal, or"
                + " --ok-label)", r.line());
        Run bad = train("--data", data.toString(), "--backbone", SharedAssets.squeezenet().toString(),
                "--out", tmp.resolve("out").toString(), "--combine", "maybe");
        assertEquals("vigil train: --combine must be auto, on or off, found 'maybe'", bad.line());
        assertTrue(Files.notExists(tmp.resolve("out")));
    }

    @Test
    void aClassFolderNamedAnomalyCannotBeCombined() throws Exception {
        Path data = goodOnly("ok", 12);
        Path other = Files.createDirectories(data.resolve("anomaly"));
        var imgs = Files.list(SharedAssets.neu().resolve("crazing")).sorted().limit(3).toList();
        for (int i = 0; i < imgs.size(); i++) {
            Files.createSymbolicLink(other.resolve("a" + i + ".jpg"), imgs.get(i));
        }
        Run r = train("--data", data.toString(), "--backbone", SharedAssets.squeezenet().toString(), "--out",
                tmp.resolve("out").toString(), "--combine", "on");
        assertEquals(1, r.code());
        assertEquals("vigil train: --combine on: a class folder is named 'anomaly', the name of the class the memory"
                + " adds: rename it", r.line());
        assertTrue(Files.notExists(tmp.resolve("out")));
    }

    @Test
    void anomalyWithoutAGoodFolderSaysWhichFoldersThereAre() throws Exception {
        Path data = datasetWith(2, 2);
        Run r = train("--data", data.toString(), "--backbone", SharedAssets.squeezenet().toString(), "--out",
                tmp.resolve("out").toString(), "--anomaly");
        assertEquals(1, r.code());
        assertEquals("vigil train: a model from good parts alone needs a folder of good images in " + data
                + " named ok, good, pass or normal (or --ok-label NAME); its folders are [class0, class1]", r.line());
        assertTrue(Files.notExists(tmp.resolve("out")));
    }

    @Test
    void aSingleFolderThatIsNotTheGoodOneIsNeitherAClassifierNorAnAnomalyModel() throws Exception {
        Path data = datasetWith(3);
        Run r = train("--data", data.toString(), "--backbone", SharedAssets.squeezenet().toString(), "--out",
                tmp.resolve("out").toString());
        assertEquals(1, r.code());
        assertEquals("vigil train: dataset " + data + " has one class folder [class0]; a classifier needs at least"
                + " two, and a model from good parts alone needs the good folder named ok, good, pass or normal (or"
                + " --ok-label class0)", r.line());
    }

    @Test
    void tooFewGoodImagesToCalibrateSaysHowManyAreNeeded() throws Exception {
        Run r = train("--data", goodOnly("ok", 6).toString(), "--backbone", SharedAssets.squeezenet().toString(),
                "--out", tmp.resolve("out").toString());
        assertEquals(1, r.code());
        assertEquals("vigil train: 'ok' has 6 readable good images; a model from good parts alone needs at least 10"
                + " to place its threshold on images it has not seen (and about 100 or more for a false-reject rate"
                + " near 1%): add good images", r.line());
        assertTrue(Files.notExists(tmp.resolve("out")));
    }

    @Test
    void anInputTooSmallForTheTappedBlocksIsRefusedBeforeAnythingIsWritten() throws Exception {
        Path data = goodOnly("good", 12);
        Run tiny = train("--data", data.toString(), "--backbone", SharedAssets.squeezenet().toString(), "--out",
                tmp.resolve("out").toString(), "--input", "32x32", "--taps", "0");
        assertEquals(1, tiny.code());
        assertEquals("vigil train: the 32x32 input gives only a 1x1 grid of patches at taps [0]; give a larger"
                + " --input or --long-side, or shallower --taps", tiny.line());
        Run misaligned = train("--data", data.toString(), "--backbone", SharedAssets.squeezenet().toString(),
                "--out", tmp.resolve("out").toString(), "--input", "33x37", "--taps", "7,4");
        assertEquals(1, misaligned.code());
        assertEquals("vigil train: tap fire2/concat_1 (8x7) does not line up with the 3x3 grid of the deepest tap;"
                + " choose other --taps", misaligned.line());
        assertTrue(Files.notExists(tmp.resolve("out")));
    }

    @Test
    void badAnomalySettingsNameTheFlag() throws Exception {
        Path data = goodOnly("ok", 12);
        Run frr = train("--data", data.toString(), "--backbone", "x", "--out", "o", "--target-frr", "0.7");
        assertEquals("vigil train: --target-frr must be in (0, 0.5), found 0.7", frr.line());
        Run nb = train("--data", data.toString(), "--backbone", "x", "--out", "o", "--neighbourhood", "4");
        assertEquals("vigil train: --neighbourhood must be an odd number from 1 to 9, found 4", nb.line());
        Run group = train("--data", data.toString(), "--backbone", SharedAssets.squeezenet().toString(), "--out",
                tmp.resolve("out").toString(), "--group-by", "part\\d+");
        assertTrue(group.line().startsWith("vigil train: --group-by 'part\\d+' has no capturing group"),
                group.line());
    }

    /** Trains with {@code args} on a two-class dataset; the run must fail with one line and write no package. */
    private String refused(String... args) throws Exception {
        String[] full = new String[args.length + 6];
        full[0] = "--data";
        Path data = tmp.resolve("data");
        full[1] = (Files.exists(data) ? data : datasetWith(3, 3)).toString();
        full[2] = "--backbone";
        full[3] = SharedAssets.squeezenet().toString();
        full[4] = "--out";
        full[5] = tmp.resolve("out").toString();
        System.arraycopy(args, 0, full, 6, args.length);
        Run r = train(full);
        assertEquals(1, r.code(), r.err());
        assertFalse(Files.exists(tmp.resolve("out")), "a package was written");
        return r.line();
    }

    @Test
    void aGroupByThatMatchesNoFileNameSaysSoAndWritesNothing() throws Exception {
        String l = refused("--group-by", "^(part\\d+)_");
        assertTrue(l.startsWith("vigil train: --group-by '^(part\\d+)_'"), l);
        assertTrue(l.contains("img0.jpg"), "the message should show a file name it tried: " + l);
    }

    @Test
    void aGeometryTheBackboneCannotTake() throws Exception {
        String tiny = refused("--input", "16x16");
        assertTrue(tiny.startsWith("vigil train: input width 16 is outside 32..4096 pixels"), tiny);
        String garbled = refused("--input", "512by1280");
        assertEquals("vigil train: --input '512by1280' is not WIDTHxHEIGHT; give e.g. --input 512x1280", garbled);
        String both = refused("--size", "224", "--long-side", "800");
        assertEquals("vigil train: give at most one of --size, --input and --long-side", both);
    }

    @Test
    void thePatchHeadNeedsFrozenFeaturesAndFoldsNeedTwo() throws Exception {
        String patch = refused("--head", "patch", "--unfreeze", "1");
        assertTrue(patch.startsWith("vigil train: --head patch trains a new head on frozen features: use --unfreeze 0"),
                patch);
        String folds = refused("--folds", "1");
        assertEquals("vigil train: --folds must be 0 (no cross-validation) or 2..20, found 1", folds);
        String head = refused("--head", "cam");
        assertEquals("vigil train: --head must be auto, pooled or patch, found 'cam'", head);
    }
}
