package dev.vigil.trainer.combined;

import dev.vigil.core.model.Manifest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.anomaly.AnomalyModel;
import dev.vigil.trainer.anomaly.AnomalyOptions;
import dev.vigil.trainer.anomaly.AnomalyTrainer;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.core.image.ImageIo;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.eval.Evaluation;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TransferTrainer;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Point;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/**
 * A supervised head and a memory of good parts in one package, from a small casting set with the shared SqueezeNet:
 * one graph, checked against its parts, that ranks held-out castings and rejects a kind of damage nobody labelled.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CombinedPackageTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @TempDir
    static Path tmp;

    private CombinedModel model;
    private ModelPackage pkg;
    private Path test;

    @BeforeAll
    void train() throws Exception {
        Backbone squeezenet = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(
                SharedAssets.squeezenet().toString());
        Path data = SharedAssets.subset(SharedAssets.casting().resolve("train"), tmp.resolve("train"), 0, 30);
        test = SharedAssets.subset(SharedAssets.casting().resolve("test"), tmp.resolve("test"), 0, 20);
        ImageDataset ds = ImageDataset.scan(data, 2);
        try (TransferTrainer t = new TransferTrainer(squeezenet, ds, TrainOptions.defaults().withUnfreeze(0)
                .withEpochs(15).withFolds(3).withLearningCurve(false), tmp.resolve("features"), QUIET)) {
            t.train();
            AnomalyModel memory = new AnomalyTrainer(squeezenet, ds, AnomalyOptions.defaults(),
                    t.plan().preprocessing(), QUIET).train();
            assertEquals(t.plan().preprocessing().width(), memory.plan().preprocessing().width());
            model = CombinedTrainer.combine(t, memory, 0.99, QUIET);
            pkg = new CombinedExporter(model).write(tmp.resolve("pkg"));

        }
    }

    @Test
    void onePackageWhoseGraphAgreesWithItsParts() throws Exception {
        assertEquals(List.of("defective", "ok", Manifest.ANOMALY_LABEL), pkg.manifest().labels());
        assertEquals("pooled+anomaly", pkg.manifest().training().head());
        assertEquals(ModelExporter.DEFECT_MAP, pkg.manifest().output().defectMap());
        JsonNode report = ModelPackage.json().readTree(pkg.dir().resolve(ModelPackage.REPORT).toFile());
        for (String p : List.of("/verification/maxAbsDiff", "/verification/maxDefectMapDiff",
                "/verification/supervised/maxAbsDiff", "/verification/anomaly/maxAbsDiff")) {
            assertTrue(report.at(p).asDouble() <= ModelExporter.MAX_ABS_DIFF, p + " = " + report.at(p));
        }
        assertTrue(report.at("/verification/images").asInt() >= 4);
        assertEquals(model.operatingPoint().defectThreshold(), pkg.manifest().operatingPoint().defectThreshold());
        assertTrue(report.at("/combination/figures/images").asInt() >= 50, report.at("/combination").toString());
    }

    @Test
    void heldOutCastingsAreRankedAndJudgedAtThePackagesOperatingPoint() {
        Evaluation.Outcome o = Evaluation.run(pkg, ImageDataset.scan(test, 1), QUIET);
        // measured: AUROC 1.0, recall 1.0, false rejects 0.35 (the supervised head alone: the same; 30 defects and
        // 3 folds put the threshold low), anomaly weight 0 (the head separates these castings on its own)
        System.out.printf(java.util.Locale.ROOT, "combined casting package (30 + 30 images): AUROC %.4f, recall %.3f,"
                + " false rejects %.3f on 20 + 20 held-out images; %s%n", o.auroc(), o.metrics().defectRecall(),
                o.metrics().falseRejectRate(), model.combination());
        assertEquals(40, o.metrics().count());
        assertTrue(o.auroc() >= 0.9, "AUROC " + o.auroc());
        assertTrue(o.metrics().defectRecall() >= 0.8, "recall " + o.metrics().defectRecall());
    }

    @Test
    void damageNobodyLabelledIsStillRejected() throws Exception {
        // good held-out castings the package passes, each with a bright foreign object painted on: no training
        // image looks like this, so only the memory of good parts can know it is wrong
        double threshold = pkg.manifest().operatingPoint().defectThreshold();
        int ok = pkg.manifest().labels().indexOf("ok");
        List<Path> goods;
        try (Stream<Path> s = Files.list(test.resolve("ok"))) {
            goods = s.sorted().toList();
        }
        int passed = 0;
        for (Path good : goods) {
            Mat img = Imgcodecs.imdecode(new MatOfByte(ImageIo.read(good)), Imgcodecs.IMREAD_COLOR);
            if (1 - probabilities(img)[ok] >= threshold) {
                continue; // a false reject already: nothing to show on it
            }
            passed++;
            Mat marked = img.clone();
            Imgproc.circle(marked, new Point(img.cols() * 0.5, img.rows() * 0.3), img.cols() / 12,
                    new Scalar(0, 220, 255), -1);
            float[] foreign = probabilities(marked);
            assertTrue(1 - foreign[ok] >= threshold, good.getFileName() + " with a foreign object passes: "
                    + (1 - foreign[ok]) + " < " + threshold);
            if (passed == 3) {
                break;
            }
        }
        assertEquals(3, passed, "too few held-out good castings pass to paint on");
    }

    private float[] probabilities(Mat bgr) throws Exception {
        MatOfByte png = new MatOfByte();
        Imgcodecs.imencode(".png", bgr, png);
        Preprocessing pre = model.supervised().plan().preprocessing();
        float[] x = ImageIo.preprocess(png.toArray(), pre, Variant.ORIGINAL, "test image");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(pkg.dir().resolve(ModelPackage.MODEL).toString());
                OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x),
                        new long[] {1, 3, pre.height(), pre.width()});
                OrtSession.Result r = s.run(Map.of(pkg.manifest().input().tensor(), in))) {
            return ((float[][]) r.get(ModelExporter.OUTPUT).orElseThrow().getValue())[0];
        }
    }
}
