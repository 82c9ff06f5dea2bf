package dev.vigil.trainer.anomaly;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.core.image.ImageIo;
import dev.vigil.trainer.data.LabelledImage;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.eval.Evaluation;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.core.model.ModelPackage;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model from good parts alone, built from a few dozen good casting images with the shared SqueezeNet, scored on
 * held-out good and defective castings.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AnomalyTrainerTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
    private static final int GOOD_IMAGES = 40;

    @TempDir
    static Path tmp;

    private Backbone squeezenet;
    private AnomalyModel model;
    private ModelPackage pkg;
    private Path test;

    @BeforeAll
    void buildFromGoodCastings() throws Exception {
        squeezenet = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(
                SharedAssets.squeezenet().toString());
        Path goodOnly = link(SharedAssets.casting().resolve("train/ok"), tmp.resolve("good/ok"), 0, GOOD_IMAGES);
        test = tmp.resolve("test");
        link(SharedAssets.casting().resolve("test/ok"), test.resolve("ok"), 0, 25);
        link(SharedAssets.casting().resolve("test/defective"), test.resolve("defective"), 0, 25);
        model = new AnomalyTrainer(squeezenet, ImageDataset.scan(goodOnly.getParent(), 2), AnomalyOptions.defaults(),
                QUIET).train();
        pkg = new AnomalyExporter(model).write(tmp.resolve("pkg"));
    }

    /** Links images [from, from+count) of {@code src} (sorted by name) into {@code dst}. */
    private static Path link(Path src, Path dst, int from, int count) throws Exception {
        Files.createDirectories(dst);
        List<Path> imgs;
        try (Stream<Path> s = Files.list(src)) {
            imgs = s.sorted().toList();
        }
        for (Path img : imgs.subList(from, Math.min(imgs.size(), from + count))) {
            Files.createSymbolicLink(dst.resolve(img.getFileName()), img);
        }
        return dst;
    }

    @Test
    void defectiveCastingsScoreAboveGoodOnesOnImagesTheModelNeverSaw() {
        Evaluation.Outcome o = Evaluation.run(pkg, ImageDataset.scan(test, 1), QUIET);
        System.out.printf(java.util.Locale.ROOT, "anomaly model from %d good castings: AUROC %.4f, false rejects %.3f,"
                + " defect recall %.3f on 25 + 25 test images%n", GOOD_IMAGES, o.auroc(),
                o.metrics().falseRejectRate(), o.metrics().defectRecall());
        assertEquals(50, o.metrics().count());
        // 40 good images, squeezenet fire3+fire5 at the images' own 320 px: measured 0.995 on these 25 + 25
        assertTrue(o.auroc() >= 0.90, "AUROC " + o.auroc());
        // the threshold was placed for 1% false rejects on good images it had not seen
        assertTrue(o.metrics().falseRejectRate() <= 0.12, "false rejects " + o.metrics().falseRejectRate());
    }

    @Test
    void thePackageIsAnAnomalyModelWithADefectMapAndACalibratedOperatingPoint() throws Exception {
        assertEquals(List.of("anomaly", "ok"), pkg.manifest().labels());
        assertEquals("ok", pkg.manifest().okLabel());
        assertEquals("anomaly", pkg.manifest().training().head());
        assertEquals(ModelExporter.DEFECT_MAP, pkg.manifest().output().defectMap());
        assertEquals(0.5, pkg.manifest().operatingPoint().defectThreshold());
        assertNull(pkg.manifest().operatingPoint().targetRecall());
        JsonNode report = ModelPackage.json().readTree(pkg.dir().resolve(ModelPackage.REPORT).toFile());
        assertEquals("anomaly", report.get("head").asText());
        assertEquals(GOOD_IMAGES, report.at("/calibration/images").asInt());
        assertTrue(report.at("/anomaly/memoryRows").asInt() > 0);
        assertTrue(report.at("/anomaly/memoryRows").asInt() <= AnomalyOptions.DEFAULT_MEMORY_SIZE);
        assertTrue(report.at("/verification/images").asInt() >= 2);
        assertTrue(report.at("/verification/maxAbsDiff").asDouble() <= ModelExporter.MAX_ABS_DIFF);
        assertTrue(report.at("/verification/maxDefectMapDiff").asDouble() <= ModelExporter.MAX_ABS_DIFF);
        assertTrue(report.at("/timing/peakHeapBytes").asLong() > 0);
    }

    @Test
    void onnxRuntimeAgreesWithTheJavaReferenceOnDefectiveAndGoodTestImages() {
        List<LabelledImage> images = new ArrayList<>();
        ImageDataset t = ImageDataset.scan(test, 1);
        images.add(t.images().get(0));
        images.add(t.images().get(t.images().size() - 1));
        AnomalyModel onTest = new AnomalyModel(model.backbone(), model.plan(), model.memory(), model.calibration(),
                model.labels(), model.okLabel(), model.options(), model.summary(), images, null);
        AnomalyExporter exporter = new AnomalyExporter(onTest);
        AnomalyExporter.Verification v = exporter.verify(exporter.graph());
        assertEquals(2, v.images());
        assertTrue(v.maxAbsDiff() <= ModelExporter.MAX_ABS_DIFF, "probabilities differ by " + v.maxAbsDiff());
        assertTrue(v.maxMapDiff() <= ModelExporter.MAX_ABS_DIFF, "defect maps differ by " + v.maxMapDiff());
    }

    @Test
    void theImageProbabilityIsTheWorstCellOfTheDefectMap() throws Exception {
        ImageDataset t = ImageDataset.scan(test, 1);
        Path defective = t.images().get(0).path();
        float[] x = ImageIo.preprocess(ImageIo.read(defective), pkg.preprocessing(), Variant.ORIGINAL,
                defective.toString());
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(pkg.modelFile().toString(), new OrtSession.SessionOptions());
                OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x),
                        new long[] {1, 3, pkg.preprocessing().height(), pkg.preprocessing().width()});
                OrtSession.Result r = s.run(Map.of(pkg.manifest().input().tensor(), in))) {
            float[][] p = (float[][]) r.get(ModelExporter.OUTPUT).orElseThrow().getValue();
            OnnxTensor map = (OnnxTensor) r.get(ModelExporter.DEFECT_MAP).orElseThrow();
            long[] shape = map.getInfo().getShape();
            assertArrayEquals(new long[] {1, 1, model.plan().layout().gridHeight(),
                    model.plan().layout().gridWidth()}, shape);
            FloatBuffer fb = map.getFloatBuffer();
            float worst = 0;
            while (fb.hasRemaining()) {
                worst = Math.max(worst, fb.get());
            }
            assertEquals(worst, p[0][0], 1e-6);
            assertEquals(1 - worst, p[0][1], 1e-6);
        }
    }
}
