package dev.vigil.trainer.adapt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.VigilException;
import dev.vigil.core.image.Variant;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.bench.Shift;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.data.LabelledImage;
import dev.vigil.trainer.features.PoolMode;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TransferTrainer;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vigil adapt} on real casting images made darker (brightness × 0.6): the drift score of frames the
 * statistics were not taken from comes down, the adapted package carries its source, and the labelled frames'
 * accuracy does not fall.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdaptationTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @TempDir
    static Path tmp;

    private ModelPackage pkg;
    private Path darkTrain;

    @BeforeAll
    void trainOnCastingAndDarkenIt() throws Exception {
        Backbone bb = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(
                SharedAssets.squeezenet().toString());
        Path train = SharedAssets.subset(SharedAssets.casting().resolve("train"), tmp.resolve("train"), 0, 20);
        TrainOptions o = TrainOptions.defaults().withUnfreeze(0).withEpochs(15).withFolds(0)
                .withAugment(List.of(Variant.ORIGINAL)).withTta(false).withHead(0, List.of(0, 4), PoolMode.AVGMAX);
        try (TransferTrainer t = new TransferTrainer(bb, ImageDataset.scan(train, 2), o, tmp.resolve("cache"),
                QUIET)) {
            t.train();
            pkg = new ModelExporter(t).write(tmp.resolve("pkg"));
        }
        darkTrain = tmp.resolve("dark-train");
        Shift.DARKER.applyTree(SharedAssets.subset(SharedAssets.casting().resolve("train"), tmp.resolve("more"), 20,
                20), darkTrain);
    }

    @Test
    void adaptingToDarkerFramesBringsTheirDriftScoreDown() throws Exception {
        List<Path> frames = ImageDataset.scan(darkTrain, 1).images().stream().map(LabelledImage::path).toList();
        Adaptation.Result r = new Adaptation(pkg, Adaptation.Options.defaults().withReference("all").withInput("on"),
                QUIET)
                .adapt(frames, null, tmp.resolve("adapted"));
        assertEquals(40, r.frames());
        assertTrue(r.heldOutBefore() > 2 * r.heldOutAfter(), "drift on frames not used for the statistics: "
                + r.heldOutBefore() + " -> " + r.heldOutAfter());
        assertTrue(r.driftAfter() < r.driftBefore(), r.driftBefore() + " -> " + r.driftAfter());
        assertEquals(pkg.manifest().id(), r.pkg().manifest().output().drift().adaptedFrom());
        assertNotEquals(pkg.manifest().id(), r.pkg().manifest().id());
        String report = Files.readString(r.pkg().dir().resolve(ModelPackage.REPORT));
        assertEquals(40, ModelPackage.json().readTree(report).at("/adaptation/frames").asInt());

        // the training images' input figures travel in the package, a row per class
        var figures = pkg.manifest().output().drift().input();
        assertEquals(2, figures.images().length);
        assertTrue(figures.images()[0] > 0 && figures.images()[0] <= 64, "images " + figures.images()[0]);
        assertEquals(figures.images()[0], r.pkg().manifest().output().drift().input().images()[0], "kept");
        // the input normalisation takes the darker frames back: their spread is 0.6 of the training images'
        for (int c = 0; c < 3; c++) {
            float ratio = r.pkg().preprocessing().std()[c] / pkg.preprocessing().std()[c];
            assertEquals(0.6, ratio, 0.06, "channel " + c + " std ratio");
        }
        assertEquals(3, ModelPackage.json().readTree(report).at("/adaptation/input/stdAfter").size());
    }

    @Test
    void automaticallyTheInputAlignmentIsKeptWhenItBringsTheFramesNearer() throws Exception {
        List<Path> frames = ImageDataset.scan(darkTrain, 1).images().stream().map(LabelledImage::path).toList();
        Adaptation.Result r = new Adaptation(pkg, Adaptation.Options.defaults().withReference("all"), QUIET)
                .adapt(frames, null, tmp.resolve("auto"));
        var a = ModelPackage.json().readTree(r.pkg().dir().resolve(ModelPackage.REPORT).toFile()).at("/adaptation");
        assertEquals("auto", a.at("/inputMode").asText());
        double with = a.at("/inputChoice/scoreWithInput").asDouble();
        double without = a.at("/inputChoice/scoreFeaturesOnly").asDouble();
        boolean applied = a.at("/inputChoice/applied").asBoolean();
        assertEquals(with <= without, applied, a.toString());
        assertEquals(applied, !r.pkg().preprocessing().equals(pkg.preprocessing()), a.toString());
        assertEquals(applied, !a.at("/input").isNull(), a.toString());
        assertEquals(Math.min(with, without), r.heldOutAfter(), 1e-9, "the kept one's score is the one reported");
    }

    @Test
    void withoutTheInputAlignmentTheNormalisationStaysAndOnlyTheFeaturesMove() throws Exception {
        List<Path> frames = ImageDataset.scan(darkTrain, 1).images().stream().map(LabelledImage::path).toList();
        Adaptation.Result r = new Adaptation(pkg, Adaptation.Options.defaults().withReference("all")
                .withInput("off"), QUIET).adapt(frames, null, tmp.resolve("features-only"));
        assertEquals(pkg.preprocessing(), r.pkg().preprocessing());
        assertTrue(r.heldOutAfter() < r.heldOutBefore(), r.heldOutBefore() + " -> " + r.heldOutAfter());
        String report = Files.readString(r.pkg().dir().resolve(ModelPackage.REPORT));
        assertTrue(ModelPackage.json().readTree(report).at("/adaptation/input").isNull(), report);
    }

    @Test
    void aFewLabelledFramesFineTuneTheHead() throws Exception {
        ImageDataset dark = ImageDataset.scan(darkTrain, 1);
        Path few = tmp.resolve("few");
        int[] taken = new int[dark.classes().size()];
        for (LabelledImage img : dark.images()) {
            if (taken[img.label()]++ < 5) {
                Path d = Files.createDirectories(few.resolve(dark.classes().get(img.label())));
                Files.createSymbolicLink(d.resolve(img.path().getFileName()), img.path());
            }
        }
        Adaptation.Result r = new Adaptation(pkg, Adaptation.Options.defaults().withReference("all"), QUIET)
                .adapt(dark.images().stream().map(LabelledImage::path).toList(), ImageDataset.scan(few, 1),
                        tmp.resolve("tuned"));
        assertEquals(10, r.labelled());
        assertTrue(r.labelledAccuracyAfter() >= r.labelledAccuracyBefore(), r.labelledAccuracyBefore() + " -> "
                + r.labelledAccuracyAfter());
    }

    @Test
    void labelledFoldersMustBeTheModelsClasses() throws Exception {
        Path wrong = Files.createDirectories(tmp.resolve("wrong/scratched"));
        Files.createSymbolicLink(wrong.resolve("a.png"), Files.list(darkTrain.resolve("ok")).findFirst()
                .orElseThrow());
        List<Path> frames = ImageDataset.scan(darkTrain, 1).images().stream().map(LabelledImage::path).toList();
        VigilException e = assertThrows(VigilException.class, () -> new Adaptation(pkg,
                Adaptation.Options.defaults(), QUIET).adapt(frames, ImageDataset.scan(tmp.resolve("wrong"), 1),
                        tmp.resolve("never")));
        assertTrue(e.getMessage().startsWith("--labelled: class folder 'scratched'"), e.getMessage());
        assertTrue(Files.notExists(tmp.resolve("never")), "nothing written");
    }

    @Test
    void theHeadsClassIsRecoveredFromACombinedPackagesProbabilities() {
        // head classes [defect, ok], the combined package adds anomaly: ok = 1 - D, defect = D P_defect, anomaly = D P_ok
        double d = 0.6;
        double pOk = 0.7; // the head says ok, the guard raised D
        float[] combined = {(float) (d * (1 - pOk)), (float) (1 - d), (float) (d * pOk)};
        assertEquals(1, Adaptation.headClass(combined, 2, 1), "the head's ok, not the combined verdict");
        float[] defect = {(float) (0.9 * 0.8), 0.1f, (float) (0.9 * 0.2)};
        assertEquals(0, Adaptation.headClass(defect, 2, 1));
        assertEquals(0, Adaptation.headClass(new float[] {0.8f, 0.2f}, 2, 1), "a supervised package as it is");
    }

    /**
     * A backbone with BatchNorm in its trained block (the shape of the zoo's pre-activation ResNet): adapt gives the
     * suffix's BatchNorm nodes the darker frames' statistics (the first one exactly the per-channel mean and variance
     * of its input over the frames), leaves the frozen prefix's alone, and the squeezenet package above, with no
     * BatchNorm, has nothing to re-estimate.
     */
    @Test
    void batchNormInTheTrainedBlockTakesTheNewFramesStatistics() throws Exception {
        Path file = tmp.resolve("resnet-v2-shape.onnx");
        dev.vigil.trainer.onnx.ZooShapesTest.resnetV2(32).save(file);
        Backbone bb = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(file.toString());
        Path train = SharedAssets.subset(SharedAssets.casting().resolve("train"), tmp.resolve("bn-train"), 0, 8);
        TrainOptions o = TrainOptions.defaults().withUnfreeze(1).withEpochs(2).withFolds(0).withRefit(false)
                .withAugment(List.of(Variant.ORIGINAL)).withTta(false).withHead(32, List.of(0), PoolMode.AVGMAX);
        ModelPackage bnPkg;
        try (TransferTrainer t = new TransferTrainer(bb, ImageDataset.scan(train, 2), o, tmp.resolve("bn-cache"),
                QUIET)) {
            t.train();
            bnPkg = new ModelExporter(t).write(tmp.resolve("bn-pkg"));
        }
        dev.vigil.trainer.onnx.OnnxGraph source = dev.vigil.trainer.onnx.OnnxGraph.load(bnPkg.modelFile());
        var suffix = BatchNormReestimation.suffixBatchNorms(source, bnPkg.manifest().training().cut());
        long all = source.nodes().stream().filter(n -> n.getOpType().equals("BatchNormalization")).count();
        assertTrue(!suffix.isEmpty() && suffix.size() < all, suffix.size() + " of " + all + " in the suffix");
        List<Path> frames = ImageDataset.scan(darkTrain, 1).images().stream().map(LabelledImage::path).toList();
        Adaptation.Result r = new Adaptation(bnPkg, Adaptation.Options.defaults().withReference("all").withInput("on"),
                QUIET)
                .adapt(frames, null, tmp.resolve("bn-adapted"));
        var report = ModelPackage.json().readTree(r.pkg().dir().resolve(ModelPackage.REPORT).toFile());
        assertEquals(suffix.size(), report.at("/adaptation/batchNorm/nodes").size(), report.toString());
        assertTrue(report.at("/adaptation/batchNorm/meanShift").asDouble() > 0);
        dev.vigil.trainer.onnx.OnnxGraph adapted = dev.vigil.trainer.onnx.OnnxGraph.load(r.pkg().modelFile());
        // the first suffix node's input does not depend on any re-estimated node: measure it on the source graph,
        // the frames normalised as the adapted package normalises them (its input alignment comes first)
        var first = suffix.get(0);
        assertNotEquals(bnPkg.preprocessing(), r.pkg().preprocessing());
        double[][] expected = inputStats(source, first.getInput(0), frames, r.pkg().preprocessing());
        float[] mean = dev.vigil.trainer.onnx.OnnxTensors.toFloats(adapted.initializer(first.getInput(3)));
        float[] var = dev.vigil.trainer.onnx.OnnxTensors.toFloats(adapted.initializer(first.getInput(4)));
        for (int c = 0; c < mean.length; c++) {
            assertEquals(expected[0][c], mean[c], 1e-3 * (1 + Math.abs(expected[0][c])), "mean of channel " + c);
            assertEquals(expected[1][c], var[c], 1e-3 * (1 + expected[1][c]), "variance of channel " + c);
        }
        // the frozen prefix's BatchNorm keeps the backbone's statistics
        for (var n : source.nodes()) {
            if (n.getOpType().equals("BatchNormalization") && !suffix.contains(n)) {
                assertEquals(source.initializer(n.getInput(3)), adapted.initializer(n.getInput(3)), n.getName());
            }
        }
        assertTrue(BatchNormReestimation.suffixBatchNorms(dev.vigil.trainer.onnx.OnnxGraph.load(pkg.modelFile()),
                pkg.manifest().training().cut()).isEmpty(), "squeezenet has no BatchNorm");
    }

    /** Per-channel mean and variance of tensor x over the frames, with ONNX Runtime on graph g. */
    private static double[][] inputStats(dev.vigil.trainer.onnx.OnnxGraph g, String x, List<Path> frames,
            dev.vigil.core.image.Preprocessing pre) throws Exception {
        var exposed = g.graph().toBuilder().addOutput(ai.onnx.proto.OnnxMl.ValueInfoProto.newBuilder().setName(x)
                .setType(ai.onnx.proto.OnnxMl.TypeProto.newBuilder().setTensorType(
                        ai.onnx.proto.OnnxMl.TypeProto.Tensor.newBuilder().setElemType(1)))).build();
        var env = ai.onnxruntime.OrtEnvironment.getEnvironment();
        double[] sum = null;
        double[] sq = null;
        long count = 0;
        try (var session = env.createSession(g.model().toBuilder().setGraph(exposed).build().toByteArray())) {
            for (Path f : frames) {
                float[] in = dev.vigil.core.image.ImageIo.preprocess(dev.vigil.core.image.ImageIo.read(f), pre,
                        Variant.ORIGINAL, f.toString());
                try (var t = ai.onnxruntime.OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap(in),
                        new long[] {1, 3, pre.height(), pre.width()});
                        var res = session.run(java.util.Map.of(g.inputName(), t))) {
                    float[][][][] v = (float[][][][]) res.get(x).orElseThrow().getValue();
                    if (sum == null) {
                        sum = new double[v[0].length];
                        sq = new double[v[0].length];
                    }
                    for (int c = 0; c < v[0].length; c++) {
                        for (float[] row : v[0][c]) {
                            for (float a : row) {
                                sum[c] += a;
                                sq[c] += a * (double) a;
                            }
                        }
                    }
                    count += (long) v[0][0].length * v[0][0][0].length;
                }
            }
        }
        double[][] out = new double[2][sum.length];
        for (int c = 0; c < sum.length; c++) {
            out[0][c] = sum[c] / count;
            out[1][c] = sq[c] / count - out[0][c] * out[0][c];
        }
        return out;
    }
}
