package dev.vigil.app.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.VigilException;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.image.ImageIo;
import dev.vigil.core.image.OpenCv;
import dev.vigil.core.model.DefectMap;
import dev.vigil.trainer.model.MapModels;
import dev.vigil.core.model.ModelPackage;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Point;
import org.opencv.core.Scalar;
import org.opencv.imgproc.Imgproc;

/** Defect maps on DJL's ONNX Runtime engine, with fixture packages whose map output is listed first. */
class LoadedModelTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void engine() {
        LoadedModel.initEngine();
    }

    /** Two 320x120 frames preprocessed for {@code m}: a white spot over x 190..250, y 15..65, then a dark one. */
    private static float[] batch(LoadedModel m, Mat spot, Mat dark) {
        Preprocessing pre = m.preprocessing();
        float[] input = new float[2 * pre.valuesPerImage()];
        Mat[] frames = {spot, dark};
        for (int i = 0; i < 2; i++) {
            Mat r = ImageIo.resize(frames[i], pre);
            ImageIo.toTensor(r, pre, input, i * pre.valuesPerImage());
            r.release();
        }
        return input;
    }

    private static Mat[] frames() {
        OpenCv.load();
        Mat spot = new Mat(120, 320, CvType.CV_8UC3, new Scalar(30, 30, 30));
        Mat dark = spot.clone();
        Imgproc.rectangle(spot, new Point(190, 15), new Point(250, 65), new Scalar(255, 255, 255), -1);
        return new Mat[] {spot, dark};
    }

    @Test
    void theClassTheDriftOutputWasStandardisedByIsTheHeadsPrediction() {
        // a supervised head: the argmax of its K probabilities
        assertEquals(2, LoadedModel.headClass(new float[] {0.1f, 0.2f, 0.7f}, 3, 0));
        // a combined package: the anomaly column (after the K) stands in the ok class's place
        assertEquals(0, LoadedModel.headClass(new float[] {0.05f, 0.15f, 0.1f, 0.7f}, 3, 0));
        assertEquals(1, LoadedModel.headClass(new float[] {0.6f, 0.3f, 0.05f, 0.05f}, 3, 0));
        // a row shorter than the reference: none
        assertEquals(-1, LoadedModel.headClass(new float[] {1f}, 3, 0));
        // the drift reference is read by the names the exporter gives it
        assertEquals(dev.vigil.trainer.model.ModelExporter.DRIFT_MEAN, LoadedModel.DRIFT_MEAN);
        assertEquals(dev.vigil.trainer.model.ModelExporter.DRIFT_SCALE, LoadedModel.DRIFT_SCALE);
    }

    @Test
    void aBatchGivesEachFrameItsOwnMapFoundByName() throws Exception {
        Path pkg = MapModels.write(tmp.resolve("pkg"), "map-djl", 64, 48, Preprocessing.Fit.LETTERBOX, 8, true).dir();
        Mat[] f = frames();
        try (LoadedModel m = LoadedModel.open(pkg, "cpu")) {
            assertTrue(m.hasDefectMap());
            LoadedModel.Inference out = m.infer(batch(m, f[0], f[1]), 2);
            assertEquals(2, out.probabilities().length);
            assertTrue(out.probabilities()[0][0] > 0.99, "the spot is a defect");
            assertTrue(out.probabilities()[1][1] > 0.99, "the dark frame is ok");
            DefectMap spot = out.map(0, m.preprocessing(), f[0]);
            assertEquals(new DefectMap.Region(200, 20, 40, 40), spot.region());
            assertTrue(out.map(1, m.preprocessing(), f[1]).peak().score() < 0.05);
            // the probabilities-only method callers already use gives the same numbers
            assertEquals(out.probabilities()[0][0], m.classify(batch(m, f[0], f[1]), 2)[0][0], 1e-6);
        } finally {
            f[0].release();
            f[1].release();
        }
    }

    @Test
    void aMapOfTheWrongShapeIsDroppedAndTheVerdictsGoOn() throws Exception {
        Path pkg = MapModels.writeWithFlatMap(tmp.resolve("flat"), "flat-map").dir();
        Mat[] f = frames();
        try (LoadedModel m = LoadedModel.open(pkg, "cpu")) {
            LoadedModel.Inference out = m.infer(batch(m, f[0], f[1]), 2);
            assertNull(out.maps(), "no map rather than no verdict");
            assertNull(out.map(0, m.preprocessing(), f[0]));
            assertTrue(out.probabilities()[0][0] > 0.99);
            assertNull(m.infer(batch(m, f[0], f[1]), 2).maps(), "and it stays off for this model");
        } finally {
            f[0].release();
            f[1].release();
        }
    }

    @Test
    void aPackageWithoutAMapServesAsBeforeAndOneNamingAMissingMapIsRefused() throws Exception {
        ModelPackage old = MapModels.write(tmp.resolve("old"), "no-map", 64, 48, Preprocessing.Fit.LETTERBOX, 8, false);
        try (LoadedModel m = LoadedModel.open(old.dir(), "cpu")) {
            assertFalse(m.hasDefectMap());
            Mat[] f = frames();
            LoadedModel.Inference out = m.infer(batch(m, f[0], f[1]), 2);
            assertNull(out.maps());
            assertTrue(out.probabilities()[0][0] > 0.99);
            f[0].release();
            f[1].release();
        }
        Path manifest = old.dir().resolve(ModelPackage.MANIFEST);
        Files.writeString(manifest, Files.readString(manifest).replace("\"defectMap\" : null",
                "\"defectMap\" : \"defect_map\""));
        VigilException e = assertThrows(VigilException.class, () -> LoadedModel.open(old.dir(), "cpu"));
        assertTrue(e.getMessage().contains("names the defect map output 'defect_map' but model.onnx has only"
                + " [probabilities]; the package is damaged: train it again"), e.getMessage());
    }
}
