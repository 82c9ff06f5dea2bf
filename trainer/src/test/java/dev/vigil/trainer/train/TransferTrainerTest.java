package dev.vigil.trainer.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.core.VigilException;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.core.image.ImageIo;
import dev.vigil.trainer.eval.Evaluation;
import dev.vigil.trainer.eval.Metrics;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.model.OrtClassifier;
import dev.vigil.trainer.onnx.GraphSurgery;
import dev.vigil.trainer.onnx.OnnxGraph;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Real training runs on small subsets of the shared datasets with the shared SqueezeNet backbone. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TransferTrainerTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @TempDir
    static Path tmp;

    private Backbone squeezenet;
    private Path neuTrain;
    private Path neuTest;
    private ModelPackage neuPackage;
    private TrainingResult neuResult;
    private float[] djlProbabilitiesOfFirstValidationImage;
    private Path firstValidationImage;

    @BeforeAll
    void trainOnNeu() throws Exception {
        squeezenet = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(
                SharedAssets.squeezenet().toString());
        neuTrain = SharedAssets.subset(SharedAssets.neu(), tmp.resolve("neu-train"), 0, 12);
        neuTest = SharedAssets.subset(SharedAssets.neu(), tmp.resolve("neu-test"), 250, 20);
        TrainOptions o = TrainOptions.defaults().withEpochs(25);
        try (TransferTrainer t = new TransferTrainer(squeezenet, ImageDataset.scan(neuTrain, 2), o,
                tmp.resolve("features"), QUIET)) {
            neuResult = t.train();
            neuPackage = new ModelExporter(t).write(tmp.resolve("neu-model"));
            var val = t.validationFeatures();
            firstValidationImage = val.kept().get(0).path();
            djlProbabilitiesOfFirstValidationImage = t.probabilities(val, t.cutShape())[0];
        }
    }

    @Test
    void neuModelBeatsChanceByFarOnHeldOutImages() {
        Metrics m = Evaluation.run(neuPackage, ImageDataset.scan(neuTest, 1), QUIET).metrics();
        assertEquals(120, m.count());
        // 6 classes: chance is 0.167; frozen features alone reach about 0.8 with this little data.
        assertTrue(m.accuracy() >= 0.80, "NEU held-out accuracy " + m.accuracy());
    }

    @Test
    void frozenWeightsAreBitIdenticalAndUnfrozenOnesChanged() {
        OnnxGraph original = squeezenet.graph();
        OnnxGraph exported = OnnxGraph.load(neuPackage.modelFile());
        Set<String> frozen = new HashSet<>();
        GraphSurgery.ancestors(original, List.of("fire8/concat_1")).forEach(n -> n.getInputList().stream()
                .filter(original::isInitializer).forEach(frozen::add));
        assertTrue(frozen.contains("conv1_w_0") && frozen.contains("fire8/expand3x3_w_0"));
        for (String name : frozen) {
            TensorProto a = original.initializer(name);
            TensorProto b = exported.initializer(name);
            assertEquals(a.getRawData(), b.getRawData(), "frozen weight " + name + " changed");
        }
        int changed = 0;
        for (String name : List.of("fire9/squeeze1x1_w_0", "fire9/expand1x1_w_0", "fire9/expand3x3_w_0",
                "fire9/squeeze1x1_b_0")) {
            changed += original.initializer(name).getRawData().equals(exported.initializer(name).getRawData()) ? 0 : 1;
        }
        assertEquals(4, changed, "every trained fire9 tensor should have moved from its pretrained value");
    }

    @Test
    void exportedModelAgreesWithTheDjlModel() throws Exception {
        String report = Files.readString(neuPackage.dir().resolve(ModelPackage.REPORT));
        double diff = ModelPackage.json().readTree(report).at("/verification/maxAbsDiff").asDouble();
        assertTrue(diff <= 1e-4, "verification diff " + diff);
        try (OrtClassifier clf = new OrtClassifier(neuPackage)) {
            float[] ort = clf.classify(ImageIo.read(firstValidationImage), firstValidationImage.toString());
            for (int i = 0; i < ort.length; i++) {
                assertEquals(djlProbabilitiesOfFirstValidationImage[i], ort[i], 1e-4);
            }
        }
    }

    @Test
    void testTimeAugmentationMakesTheExportedModelInvariantToFlipsAndTurns() throws Exception {
        assertEquals(8, neuPackage.manifest().training().testTimeAugmentation().size());
        byte[] original = ImageIo.read(firstValidationImage);
        var pre = neuPackage.preprocessing();
        // the part is turned after it has been brought to the input size: the property under test is the graph's,
        // not OpenCV's resize (whose fixed-point interpolation is not exactly symmetric under a quarter turn)
        org.opencv.core.Mat resized = ImageIo.resize(ImageIo.decode(original, "original"), pre);
        try (OrtClassifier clf = new OrtClassifier(neuPackage)) {
            float[] x = new float[pre.valuesPerImage()];
            ImageIo.toTensor(resized, pre, x, 0);
            float[] p = clf.run(x, 1)[0];
            for (int code : new int[] {org.opencv.core.Core.ROTATE_90_CLOCKWISE, org.opencv.core.Core.ROTATE_180}) {
                org.opencv.core.Mat turned = new org.opencv.core.Mat();
                org.opencv.core.Core.rotate(resized, turned, code);
                float[] y = new float[pre.valuesPerImage()];
                ImageIo.toTensor(turned, pre, y, 0);
                float[] q = clf.run(y, 1)[0];
                for (int i = 0; i < p.length; i++) {
                    assertEquals(p[i], q[i], 1e-5, "class " + i + " after rotation code " + code);
                }
            }
        }
    }

    @Test
    void manifestDescribesTheModel() {
        var m = neuPackage.manifest();
        assertEquals(1, m.schemaVersion());
        assertEquals(List.of("crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches"),
                m.labels());
        assertEquals(224, m.input().width());
        assertEquals("BGR", m.input().colorOrder());
        assertEquals(1, m.training().unfrozenBlocks());
        assertEquals("fire8/concat_1", m.training().cut());
        assertEquals(squeezenet.sha256(), m.backbone().sha256());
        assertEquals(72, m.training().trainCounts().values().stream().mapToInt(Integer::intValue).sum()
                + m.training().validationCounts().values().stream().mapToInt(Integer::intValue).sum());
        assertTrue(neuResult.history().size() >= neuResult.bestEpoch());
    }

    @Test
    void aTamperedPackageIsRefused() throws Exception {
        Path copy = Files.createDirectories(tmp.resolve("tampered"));
        for (String f : List.of(ModelPackage.MODEL, ModelPackage.MANIFEST, ModelPackage.REPORT)) {
            Files.copy(neuPackage.dir().resolve(f), copy.resolve(f));
        }
        byte[] model = Files.readAllBytes(copy.resolve(ModelPackage.MODEL));
        model[model.length - 10] ^= 0x40;
        Files.write(copy.resolve(ModelPackage.MODEL), model);
        VigilException e = assertThrows(VigilException.class, () -> ModelPackage.open(copy));
        assertTrue(e.getMessage().contains("model.onnx has SHA-256"), e.getMessage());
        assertTrue(e.getMessage().contains("was modified or damaged"), e.getMessage());
    }

    @Test
    void theSameSeedGivesTheSameModelTwice() throws Exception {
        TrainOptions o = TrainOptions.defaults().withEpochs(4);
        byte[][] models = new byte[2][];
        for (int run = 0; run < 2; run++) {
            try (TransferTrainer t = new TransferTrainer(squeezenet, ImageDataset.scan(neuTrain, 2), o,
                    tmp.resolve("features"), QUIET)) {
                t.train();
                models[run] = Files.readAllBytes(new ModelExporter(t).write(tmp.resolve("seed-" + run)).modelFile());
            }
        }
        assertArrayEquals(models[0], models[1]);
    }

    @Test
    void castingModelFindsDefectsAtItsOperatingPoint() throws Exception {
        Path train = SharedAssets.subset(SharedAssets.casting().resolve("train"), tmp.resolve("cast-train"), 0, 50);
        Path test = SharedAssets.subset(SharedAssets.casting().resolve("test"), tmp.resolve("cast-test"), 0, 40);
        ModelPackage pkg;
        // two folds keep this test quick: each fold trains the unfrozen block again (PatchHeadTest covers more); the
        // learning curve would train each fold 3 times more and does not change the package (LearningCurveTrainingTest)
        try (TransferTrainer t = new TransferTrainer(squeezenet, ImageDataset.scan(train, 2),
                TrainOptions.defaults().withEpochs(25).withFolds(2).withLearningCurve(false), tmp.resolve("features"),
                QUIET)) {
            t.train();
            pkg = new ModelExporter(t).write(tmp.resolve("cast-model"));
        }
        assertEquals("ok", pkg.manifest().okLabel());
        assertNotNull(pkg.manifest().operatingPoint());
        Metrics m = Evaluation.run(pkg, ImageDataset.scan(test, 1), QUIET).metrics();
        assertEquals(80, m.count());
        assertTrue(m.accuracy() >= 0.80, "casting held-out accuracy " + m.accuracy());
        assertTrue(m.defectRecall() >= 0.85, "casting defect recall " + m.defectRecall() + ", accuracy " + m.accuracy());
    }

    @Test
    void refitTrainsTheExportedModelOnEveryImageAndKeepsTheHeldOutFigures() throws Exception {
        TrainOptions o = TrainOptions.defaults().withUnfreeze(0).withEpochs(6);
        TrainingResult[] results = new TrainingResult[2];
        ModelPackage[] packages = new ModelPackage[2];
        for (int run = 0; run < 2; run++) {
            try (TransferTrainer t = new TransferTrainer(squeezenet, ImageDataset.scan(neuTrain, 2),
                    o.withRefit(run == 1), tmp.resolve("features"), QUIET)) {
                results[run] = t.train();
                packages[run] = new ModelExporter(t).write(tmp.resolve("refit-" + run));
            }
        }
        assertTrue(!results[0].refitted() && results[1].refitted());
        // The held-out run is the same in both: same epochs chosen, same validation figures.
        assertEquals(results[0].bestEpoch(), results[1].bestEpoch());
        assertEquals(losses(results[0]), losses(results[1]));
        assertEquals(results[0].validation().accuracy(), results[1].validation().accuracy());
        // The exported weights are not: the refit also learned from the validation images.
        TensorProto a = OnnxGraph.load(packages[0].modelFile()).initializer(TransferNetwork.HEAD_WEIGHT);
        TensorProto b = OnnxGraph.load(packages[1].modelFile()).initializer(TransferNetwork.HEAD_WEIGHT);
        assertNotNull(a);
        assertTrue(!a.getRawData().equals(b.getRawData()), "the refit model should have other head weights");
        String report = Files.readString(packages[1].dir().resolve(ModelPackage.REPORT));
        assertTrue(ModelPackage.json().readTree(report).get("refittedOnAllImages").asBoolean());
    }

    private static List<Double> losses(TrainingResult r) {
        return r.history().stream().flatMap(e -> java.util.stream.Stream.of(e.trainLoss(), e.validationLoss()))
                .toList();
    }

    @Test
    void unreadableImagesAreSkippedAndCounted() throws Exception {
        Path data = SharedAssets.subset(SharedAssets.neu(), tmp.resolve("neu-broken"), 0, 4);
        Files.writeString(data.resolve("crazing").resolve("broken.jpg"), "not a jpeg");
        Files.writeString(data.resolve("crazing").resolve("notes.txt"), "ignored: not an image name");
        ImageDataset ds = ImageDataset.scan(data, 2);
        assertEquals(1, ds.ignoredFiles());
        try (TransferTrainer t = new TransferTrainer(squeezenet, ds, TrainOptions.defaults().withEpochs(1)
                .withUnfreeze(0), tmp.resolve("features"), QUIET)) {
            assertEquals(1, t.train().skippedImages());
        }
    }
}
