package dev.vigil.trainer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.core.image.ImageIo;
import dev.vigil.trainer.data.LabelledImage;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.features.FeatureExtractor;
import dev.vigil.trainer.features.FeatureStore.Extracted;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.core.model.ModelPackage;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.opencv.core.Core;
import org.opencv.core.Mat;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * The patch head on real small defects (KolektorSDD commutators, 500x1247 grayscale): the automatic geometry keeps
 * the aspect ratio, the exported graph's defect map agrees with the trainer's, a near-duplicate (the same part under
 * another light) is grouped with its original and never split from it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PatchHeadTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @TempDir
    static Path tmp;

    private Backbone squeezenet;
    private ModelPackage pkg;
    private List<Path> images;
    private int[] groups;
    private int[][] holdOut;
    private LabelledImage defective;
    private float[] djlMapOfDefective;
    private Path relit;
    private Path original;

    @BeforeAll
    void trainOnKolektorSubset() throws Exception {
        squeezenet = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(
                SharedAssets.squeezenet().toString());
        Path k = SharedAssets.kolektor();
        Path data = tmp.resolve("kolektor");
        link(k.resolve("train/defective"), data.resolve("defective"), 14);
        link(k.resolve("train/ok"), data.resolve("ok"), 30);
        // the same part under another light: a brighter copy of one good image
        original = Files.list(data.resolve("ok")).sorted().findFirst().orElseThrow();
        relit = data.resolve("ok").resolve("relit-" + original.getFileName());
        dev.vigil.core.image.OpenCv.load();
        Mat m = Imgcodecs.imread(original.toString());
        Core.add(m, new org.opencv.core.Scalar(12, 12, 12), m);
        Imgcodecs.imwrite(relit.toString(), m);
        m.release();
        // a small input keeps the test quick; the aspect ratio is the images' own
        TrainOptions o = TrainOptions.defaults().withEpochs(12).withHeadKind(HeadKind.PATCH).withFolds(3)
                .withGeometry(new InputGeometry(0, 0, 512)).withLearningCurve(false);
        try (TransferTrainer t = new TransferTrainer(squeezenet, ImageDataset.scan(data, 2), o,
                tmp.resolve("features"), QUIET)) {
            t.train();
            pkg = new ModelExporter(t).write(tmp.resolve("model"));
            images = t.labelledImages().stream().map(LabelledImage::path).toList();
            groups = t.groups();
            holdOut = t.holdOutSplit();
            defective = t.labelledImages().stream().filter(i -> i.label() == 0).findFirst().orElseThrow();
            djlMapOfDefective = t.defectMaps(t.referenceFeatures(List.of(defective)))[0];
        }
    }

    private static void link(Path src, Path dst, int count) throws Exception {
        Files.createDirectories(dst);
        try (Stream<Path> s = Files.list(src)) {
            for (Path p : s.sorted().limit(count).toList()) {
                Files.createSymbolicLink(dst.resolve(p.getFileName()), p);
            }
        }
    }

    @Test
    void theAutomaticGeometryKeepsTheAspectRatioOfTallImages() {
        Preprocessing p = pkg.preprocessing();
        assertEquals(Preprocessing.Fit.LETTERBOX, p.fit());
        assertEquals(512, p.height());
        // 500x1247 scaled to a 512 long side is 205 wide, rounded up to a multiple of 32
        assertEquals(224, p.width());
        assertEquals("patch", pkg.manifest().training().head());
    }

    @Test
    void theExportedDefectMapAgreesWithTheTrainersOwnModel() throws Exception {
        assertEquals(ModelExporter.DEFECT_MAP, pkg.defectMapTensor());
        JsonNode verification = ModelPackage.json().readTree(pkg.dir().resolve(ModelPackage.REPORT).toFile())
                .get("verification");
        assertTrue(verification.get("maxDefectMapDiff").asDouble() <= ModelExporter.MAX_ABS_DIFF,
                verification.toString());
        // and independently: ONNX Runtime on a defective image against the DJL network's map of the same image
        Preprocessing pre = pkg.preprocessing();
        LabelledImage img = defective;
        float[] x = ImageIo.preprocess(ImageIo.read(img.path()), pre, Variant.ORIGINAL, img.path().toString());
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(pkg.modelFile().toString(), FeatureExtractor.sessionOptions());
                OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x),
                        new long[] {1, 3, pre.height(), pre.width()});
                OrtSession.Result r = s.run(Map.of(pkg.manifest().input().tensor(), in))) {
            OnnxTensor map = (OnnxTensor) r.get(ModelExporter.DEFECT_MAP).orElseThrow();
            long[] shape = map.getInfo().getShape();
            assertEquals(4, shape.length);
            assertEquals(1, shape[1]);
            float[] ort = new float[(int) (shape[2] * shape[3])];
            map.getFloatBuffer().get(ort);
            float[] djl = djlMapOfDefective;
            assertEquals(djl.length, ort.length);
            float max = 0;
            for (int i = 0; i < ort.length; i++) {
                max = Math.max(max, Math.abs(ort[i] - djl[i]));
                assertTrue(ort[i] >= 0 && ort[i] <= 1, "cell " + i + " = " + ort[i]);
            }
            assertTrue(max <= 1e-4, "ORT and DJL defect maps differ by " + max);
        }
    }

    @Test
    void aNearDuplicateIsGroupedWithItsOriginalAndNeverSplitFromIt() {
        int a = images.indexOf(original);
        int b = images.indexOf(relit);
        assertTrue(a >= 0 && b >= 0);
        assertEquals(groups[a], groups[b], "the relit copy is not grouped with its original");
        Set<Integer> trainGroups = new HashSet<>();
        for (int i : holdOut[0]) {
            trainGroups.add(groups[i]);
        }
        for (int i : holdOut[1]) {
            assertTrue(!trainGroups.contains(groups[i]), "group of " + images.get(i)
                    + " is on both sides of the split");
        }
    }

    @Test
    void theReportSaysWhereTheOperatingPointComesFromAndHowFarItHolds() throws Exception {
        JsonNode cal = ModelPackage.json().readTree(pkg.dir().resolve(ModelPackage.REPORT).toFile())
                .get("calibration");
        assertNotNull(cal);
        assertEquals("out-of-fold", cal.get("method").asText());
        assertEquals(3, cal.get("folds").asInt());
        assertEquals(14, cal.get("defects").asInt());
        double lower = cal.get("recallLower95").asDouble();
        assertTrue(lower < cal.get("expectedRecall").asDouble() || cal.get("expectedRecall").asDouble() == 0);
        // 14 defects cannot back a 0.99 recall target: the report must say so
        assertTrue(cal.get("warning").asText().contains("label at least 299 defects"), cal.toString());
        assertNotNull(pkg.manifest().operatingPoint().recallLower95());
    }
}
