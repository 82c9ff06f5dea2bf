package dev.vigil.trainer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.vigil.core.image.ImageIo;
import dev.vigil.core.image.Variant;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.features.FeatureSpec;
import dev.vigil.trainer.features.PoolMode;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.trainer.model.OrtClassifier;
import dev.vigil.trainer.onnx.GraphBuilder;
import dev.vigil.trainer.onnx.GraphSurgery;
import dev.vigil.trainer.onnx.OnnxGraph;
import dev.vigil.trainer.onnx.OnnxTensors;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fine-tuning strategies beside feature extraction: the whole network with discriminative learning rates
 * ({@code --unfreeze all}), progressive unfreezing, and frozen BatchNorm statistics. Real SqueezeNet, real NEU images;
 * a 64 px input and no augmentation keep each run to seconds.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FinetuneStrategiesTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @TempDir
    static Path tmp;

    private Backbone squeezenet;
    private ImageDataset neu;

    @BeforeAll
    void data() throws Exception {
        squeezenet = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(
                SharedAssets.squeezenet().toString());
        neu = ImageDataset.scan(SharedAssets.subset(SharedAssets.neu(), tmp.resolve("neu"), 0, 6), 2);
    }

    private static TrainOptions small() {
        return TrainOptions.defaults().withHead(64, List.of(0, 4), PoolMode.AVGMAX)
                .withAugment(List.of(Variant.ORIGINAL)).withTta(false).withFolds(0).withRefit(false);
    }

    @Test
    void unfreezeAllTrainsEveryLayerEarlierBlocksSlowerAndExportsWhatItTrained() throws Exception {
        TrainOptions o = small().withUnfreeze(TrainOptions.UNFREEZE_ALL).withEpochs(2);
        Path cache = tmp.resolve("cache-all");
        try (TransferTrainer t = new TransferTrainer(squeezenet, neu, o, cache, QUIET)) {
            t.train();
            assertEquals(squeezenet.anatomy().input(), t.plan().cut(), "the cut is the image input");
            assertEquals(8, t.plan().unfreeze());
            Map<String, Integer> blocks = t.network().parameterBlocks(squeezenet.anatomy());
            // the eighth block back is the stem with fire2 (the first boundary is fire2's concat)
            assertEquals(8, blocks.get("conv1_w_0"));
            assertEquals(8, blocks.get("fire2/squeeze1x1_w_0"));
            assertEquals(7, blocks.get("fire3/squeeze1x1_w_0"));
            assertEquals(1, blocks.get("fire9/expand3x3_w_0"));
            ModelPackage pkg = new ModelExporter(t).write(tmp.resolve("pkg-all"));
            assertAgrees(t, pkg);

            // every layer moved, the stem (lr x 0.5^7) far less than the last block
            OnnxGraph original = squeezenet.graph();
            OnnxGraph exported = OnnxGraph.load(pkg.modelFile());
            double stem = meanAbsChange(original, exported, "conv1_w_0");
            double last = meanAbsChange(original, exported, "fire9/expand3x3_w_0");
            assertTrue(stem > 0, "the stem's weights should have trained");
            assertTrue(stem < 0.25 * last, "stem change " + stem + " vs last block " + last);
            String report = Files.readString(pkg.dir().resolve(ModelPackage.REPORT));
            var finetune = ModelPackage.json().readTree(report).get("finetune");
            assertEquals("constant", finetune.get("schedule").asText());
            assertEquals(8, finetune.get("trainedBlocks").asInt());
        }
    }

    @Test
    void progressiveUnfreezingAddsABlockPerStageMovesTheCutAndExportsTheChosenStage() throws Exception {
        TrainOptions o = small().withUnfreeze(2).withEpochs(4).withFinetune(new Finetune(0.5f, false, 1));
        Path cache = tmp.resolve("cache-progressive");
        try (TransferTrainer t = new TransferTrainer(squeezenet, neu, o, cache, QUIET)) {
            TrainingResult r = t.train();
            assertEquals(List.of(0, 1, 2, 2), r.history().stream().map(TrainingResult.EpochStats::trainedBlocks)
                    .toList(), "head alone, then one more block per epoch up to 2");
            int chosen = r.history().get(r.bestEpoch() - 1).trainedBlocks();
            assertEquals(chosen, t.plan().unfreeze(), "the exported model is the best epoch's stage");
            assertEquals(squeezenet.anatomy().cutFor(chosen), t.plan().cut());
            // only what stays frozen is cached: one cache folder per stage's cut
            for (int s = 0; s <= 2; s++) {
                TrainingPlan p = TransferTrainer.plan(squeezenet, small().withUnfreeze(s), t.plan().preprocessing());
                FeatureSpec spec = new FeatureSpec(squeezenet.sha256(), p.preprocessing(), p.cut(), p.hasSuffix(),
                        p.prefixTaps(), p.pool());
                assertTrue(Files.isDirectory(cache.resolve(spec.key())), "no cached features at " + p.cut());
            }
            ModelPackage pkg = new ModelExporter(t).write(tmp.resolve("pkg-progressive"));
            assertAgrees(t, pkg);
            assertEquals(chosen, pkg.manifest().training().unfrozenBlocks());
        }
    }

    /** The package's own check (ONNX Runtime vs DJL) passed, and ONNX Runtime on an image file gives DJL's answer. */
    private static void assertAgrees(TransferTrainer t, ModelPackage pkg) throws Exception {
        String report = Files.readString(pkg.dir().resolve(ModelPackage.REPORT));
        double diff = ModelPackage.json().readTree(report).at("/verification/maxAbsDiff").asDouble();
        assertTrue(diff <= 1e-4, "verification diff " + diff);
        var val = t.validationFeatures();
        Path image = val.kept().get(0).path();
        float[] djl = t.probabilities(t.referenceFeatures(List.of(val.kept().get(0))), t.cutShape())[0];
        try (OrtClassifier clf = new OrtClassifier(pkg)) {
            float[] ort = clf.classify(ImageIo.read(image), image.toString());
            for (int i = 0; i < ort.length; i++) {
                assertEquals(djl[i], ort[i], 1e-4, "class " + i);
            }
        }
    }

    private static double meanAbsChange(OnnxGraph a, OnnxGraph b, String name) {
        float[] x = OnnxTensors.toFloats(a.initializer(name));
        float[] y = OnnxTensors.toFloats(b.initializer(name));
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += Math.abs(x[i] - y[i]);
        }
        return s / x.length;
    }

    @Test
    void batchNormStatisticsStayFrozenUnlessAskedToTrain() {
        try (NDManager m = Engine.getEngine("PyTorch").newBaseManager()) {
            float[] gamma = {2f, 0.5f};
            float[] beta = {0.1f, -0.3f};
            float[] mean = {1f, -2f};
            float[] var = {4f, 0.25f};
            var bn = GraphBuilder.node("BatchNormalization", "bn", List.of("x", "g", "b", "m", "v"), List.of("y"),
                    GraphBuilder.floatAttr("epsilon", 1e-5f));
            Map<String, ai.onnx.proto.OnnxMl.TensorProto> inits = Map.of(
                    "g", OnnxTensors.floatTensor("g", new long[] {2}, gamma),
                    "b", OnnxTensors.floatTensor("b", new long[] {2}, beta),
                    "m", OnnxTensors.floatTensor("m", new long[] {2}, mean),
                    "v", OnnxTensors.floatTensor("v", new long[] {2}, var));
            java.util.Random rnd = new java.util.Random(3);
            float[] x = new float[4 * 2 * 3 * 3];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (rnd.nextGaussian() * 3 + 5);
            }
            for (boolean bnTrain : new boolean[] {false, true}) {
                TransferNetwork net = new TransferNetwork(m, new GraphSurgery.Subgraph(List.of(bn), inits), "x",
                        List.of("y"), 0, PoolMode.AVG, 2, 0f, false, bnTrain, 1);
                NDArray cut = m.create(x, new Shape(4, 2, 3, 3));
                float[] pooled = net.features(cut, m.zeros(new Shape(4, 0)), true).toFloatArray();
                float[] xMean = cut.reshape(4, 2, 9).mean(new int[] {2}).toFloatArray();
                float[] runningMean = net.suffixParameters().get("m").getArray().toFloatArray();
                if (!bnTrain) {
                    for (int i = 0; i < 4; i++) {
                        for (int c = 0; c < 2; c++) {
                            double expected = gamma[c] * (xMean[i * 2 + c] - mean[c]) / Math.sqrt(var[c] + 1e-5)
                                    + beta[c];
                            assertEquals(expected, pooled[i * 2 + c], 1e-4, "frozen statistics, image " + i);
                        }
                    }
                    assertEquals(mean[0], runningMean[0], 0f, "running mean must not move");
                    assertEquals(mean[1], runningMean[1], 0f, "running mean must not move");
                } else {
                    // batch statistics: each channel's mean over the batch is its shift
                    for (int c = 0; c < 2; c++) {
                        double batchMean = 0;
                        for (int i = 0; i < 4; i++) {
                            batchMean += pooled[i * 2 + c] / 4;
                        }
                        assertEquals(beta[c], batchMean, 1e-4, "batch statistics, channel " + c);
                    }
                    assertTrue(Math.abs(runningMean[0] - mean[0]) > 0.1, "running mean should move: " + runningMean[0]);
                }
            }
        }
    }
}
