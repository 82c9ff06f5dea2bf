package dev.vigil.trainer.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.core.image.Variant;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.model.ModelExporter;
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
 * The learning curve of a real, small run: NEU steel surfaces, 8 images of each of the 6 classes, one of them
 * ({@code crazing}) standing for the good part so that the run cross-validates and has an operating point; 2 folds,
 * the head alone for 3 epochs. Six classes at 4 training images a fold are hard enough that the points differ (a
 * few dozen casting images can score 1.0 at every point, and equal points could not tell the 100% point from
 * another), and 25% of 4 is one image, so that fraction is left out.
 * Trained twice, with the curve and without it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LearningCurveTrainingTest {
    private static final String OK = "crazing";
    private static final List<String> CLASSES = List.of("crazing", "inclusion", "patches", "pitted_surface",
            "rolled-in_scale", "scratches");
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @TempDir
    static Path tmp;

    private ModelPackage withCurve;
    private ModelPackage withoutCurve;
    private JsonNode report;
    private TrainingResult result;
    private int[] labelled;

    @BeforeAll
    void trainWithAndWithoutTheCurve() throws Exception {
        Backbone squeezenet = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(
                SharedAssets.squeezenet().toString());
        Path data = SharedAssets.subset(SharedAssets.neu(), tmp.resolve("neu"), 0, 8);
        TrainOptions o = TrainOptions.defaults().withOkLabel(OK).withUnfreeze(0).withEpochs(3).withFolds(2)
                .withAugment(List.of(Variant.ORIGINAL)).withTta(false);
        ImageDataset ds = ImageDataset.scan(data, 2);
        try (TransferTrainer t = new TransferTrainer(squeezenet, ds, o, tmp.resolve("features"), QUIET)) {
            result = t.train();
            withCurve = new ModelExporter(t).write(tmp.resolve("with"));
            labelled = new int[ds.classes().size()];
            for (var img : t.labelledImages()) {
                labelled[img.label()]++;
            }
        }
        try (TransferTrainer t = new TransferTrainer(squeezenet, ds, o.withLearningCurve(false),
                tmp.resolve("features"), QUIET)) {
            assertEquals(null, t.train().learningCurve());
            withoutCurve = new ModelExporter(t).write(tmp.resolve("without"));
        }
        report = ModelPackage.json().readTree(Files.readString(withCurve.dir().resolve(ModelPackage.REPORT)));
    }

    @Test
    void theReportHasPointsInIncreasingTrainingImagesEndingAtTheWholeFolds() {
        JsonNode curve = report.get("learningCurve");
        assertNotNull(curve, "report.json has no learningCurve");
        JsonNode points = curve.get("points");
        assertTrue(points.size() >= 2, "a curve needs two points or more: " + curve);
        double previous = 0;
        for (JsonNode p : points) {
            double n = p.get("trainImages").asDouble();
            assertTrue(n > previous, "trainImages " + n + " after " + previous);
            previous = n;
            assertEquals(48, p.get("images").asInt(), "every labelled image is scored at every point");
            double sum = 0;
            for (String cls : CLASSES) {
                sum += p.get("perClassTrain").get(cls).asDouble();
            }
            assertEquals(n, sum, 1e-9);
        }
        assertEquals(1.0, points.get(points.size() - 1).get("fraction").asDouble());
        assertEquals(2, curve.get("folds").asInt());
        // 2 folds: each trains on about half of the 48 images
        assertEquals(24, points.get(points.size() - 1).get("trainImages").asDouble(), 6);
        assertTrue(curve.get("skipped").get(0).asText().startsWith("25%: fold "), curve.get("skipped").toString());
        JsonNode needs = curve.get("needsMoreExamples");
        assertTrue(needs.has("class") && needs.has("suggestedImages"), needs.toString());
        assertFalse(needs.get("reason").asText().isBlank());
        assertTrue(curve.get("seconds").asDouble() > 0);
    }

    @Test
    void theWholeFoldsPointIsTheReportsOwnOutOfFoldFigures() {
        JsonNode points = report.get("learningCurve").get("points");
        JsonNode full = points.get(points.size() - 1);
        JsonNode validation = report.get("validation");
        JsonNode calibration = report.get("calibration");
        assertEquals("out-of-fold", calibration.get("method").asText());
        assertEquals(validation.get("accuracy").asDouble(), full.get("accuracy").asDouble(), 0.0);
        assertEquals(validation.get("balancedAccuracy").asDouble(), full.get("balancedAccuracy").asDouble(), 0.0);
        assertEquals(validation.get("defectRecall").asDouble(), full.get("defectRecall").asDouble(), 0.0);
        assertEquals(calibration.get("defects").asInt(), full.get("defects").asInt());
        assertEquals(calibration.get("recallLower95").asDouble(), full.get("defectRecallLower95").asDouble(), 0.0);
        for (String cls : CLASSES) {
            JsonNode mine = full.get("perClass").get(cls);
            JsonNode theirs = validation.get("perClass").get(cls);
            assertEquals(theirs.get("recall").asDouble(), mine.get("recall").asDouble(), 0.0, cls);
            assertEquals(theirs.get("support").asInt(), mine.get("n").asInt(), cls);
            assertEquals(8, mine.get("n").asInt(), cls);
            assertTrue(mine.get("lower95").asDouble() <= mine.get("recall").asDouble(), cls);
        }
        assertEquals(result.validation().accuracy(), result.learningCurve().points()
                .get(result.learningCurve().points().size() - 1).accuracy(), 0.0);
        // the points differ (else the comparisons above could not tell the 100% point from another)
        var pts = result.learningCurve().points();
        assertTrue(pts.stream().map(p -> p.perClass().toString()).distinct().count() > 1, pts.toString());
    }

    @Test
    void everyPartIsStratifiedByClass() {
        var points = result.learningCurve().points();
        var full = points.get(points.size() - 1).perClassTrain();
        for (var p : points.subList(0, points.size() - 1)) {
            for (String cls : full.keySet()) {
                double share = p.perClassTrain().get(cls) / full.get(cls);
                // at least its share of the class, at most a near-duplicate group (a few images) above it
                assertTrue(share >= p.fraction() - 1e-9 && share <= p.fraction() + 0.35, cls + " at "
                        + p.fraction() + ": " + p.perClassTrain() + " of " + full);
                assertTrue(p.perClassTrain().get(cls) >= LearningCurve.MIN_IMAGES_PER_CLASS);
            }
        }
        assertEquals(8, labelled[0]);
    }

    @Test
    void withTheCurveOffTheReportHasNoCurveAndThePackageIsTheSame() throws Exception {
        JsonNode off = ModelPackage.json().readTree(Files.readString(withoutCurve.dir().resolve(ModelPackage.REPORT)));
        assertFalse(off.has("learningCurve"), "learningCurve written with --learning-curve off");
        assertEquals(report.get("validation"), off.get("validation"));
        assertEquals(report.get("operatingPoint"), off.get("operatingPoint"));
        // the curve trains after everything the package holds: the model is the same, bit for bit
        assertArrayEquals(Files.readAllBytes(withoutCurve.modelFile()), Files.readAllBytes(withCurve.modelFile()));
    }
}
