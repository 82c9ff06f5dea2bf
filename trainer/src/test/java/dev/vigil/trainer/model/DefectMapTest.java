package dev.vigil.trainer.model;

import dev.vigil.core.model.DefectMap;
import dev.vigil.core.model.ModelPackage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.VigilException;
import dev.vigil.core.image.ColorOrder;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.image.OpenCv;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Point;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/** Peak, region and pictures of a defect map, through stretched and letterboxed geometries. */
class DefectMapTest {
    @TempDir
    Path tmp;

    private static Preprocessing pre(int w, int h, Preprocessing.Fit fit) {
        return new Preprocessing(w, h, ColorOrder.RGB, 1f / 255f, new float[] {0.5f, 0.5f, 0.5f},
                new float[] {0.25f, 0.25f, 0.25f}, fit);
    }

    /** A grid of zeros with the given cells set: {column, row, score per mille}. */
    private static DefectMap grid(int w, int h, DefectMap.Geometry g, int[]... cells) {
        float[] v = new float[w * h];
        for (int[] c : cells) {
            v[c[1] * w + c[0]] = c[2] / 1000f;
        }
        return new DefectMap(w, h, v, g);
    }

    @Test
    void aLetterboxWithBarsAboveAndBelowShiftsRowsByTheOffset() {
        // 320x120 frame into a 64x48 input: scale 0.2, content 64x24 at y 12..36
        DefectMap.Geometry g = DefectMap.Geometry.of(pre(64, 48, Preprocessing.Fit.LETTERBOX), 320, 120);
        assertEquals(12, g.placement().offsetY());
        assertEquals(0, g.placement().offsetX());
        DefectMap m = grid(8, 6, g, new int[] {5, 2, 900});
        DefectMap.Peak p = m.peak();
        assertEquals(5, p.column());
        assertEquals(2, p.row());
        assertEquals(0.9f, p.score(), 1e-6);
        // input x 40..48, y 16..24 -> frame x 200..240, y (16-12)/0.2 = 20 .. (24-12)/0.2 = 60
        assertEquals(new DefectMap.Region(200, 20, 40, 40), p.region());
        assertEquals(220, p.x());
        assertEquals(40, p.y());
        assertEquals(p.region(), m.region());
        // the first row is all padding (input y 0..8 is above the picture); the second straddles its top edge
        assertTrue(m.region(3, 0).isEmpty(), m.region(3, 0).toString());
        assertEquals(new DefectMap.Region(120, 0, 40, 20), m.region(3, 1));
        assertEquals(new DefectMap.Region(120, 100, 40, 20), m.region(3, 4), "clamped to the frame's bottom");
    }

    @Test
    void aLetterboxWithBarsLeftAndRightShiftsColumnsAndPaddingIsNeverThePeak() {
        // 100x200 frame into 64x48: scale 0.24, content 24x48 at x 20..44
        DefectMap.Geometry g = DefectMap.Geometry.of(pre(64, 48, Preprocessing.Fit.LETTERBOX), 100, 200);
        assertEquals(20, g.placement().offsetX());
        assertEquals(0, g.placement().offsetY());
        // the highest score sits in the left padding (column 0), which shows no part of the frame
        DefectMap m = grid(8, 6, g, new int[] {0, 1, 1000}, new int[] {3, 2, 900});
        assertTrue(m.region(0, 1).isEmpty());
        DefectMap.Peak p = m.peak();
        assertEquals(3, p.column());
        assertEquals(2, p.row());
        // input x 24..32 -> frame (24-20)/0.24 = 16.67 .. 50; y 16..24 -> 66.67 .. 100
        assertEquals(new DefectMap.Region(16, 66, 34, 34), p.region());
        assertEquals(new DefectMap.Region(0, 0, 17, 34), m.region(2, 0), "a cell half in the bar starts at 0");
    }

    @Test
    void aStretchedInputMapsEachAxisByItsOwnScale() {
        DefectMap.Geometry g = DefectMap.Geometry.of(pre(32, 32, Preprocessing.Fit.STRETCH), 64, 128);
        DefectMap m = grid(4, 4, g, new int[] {1, 3, 500});
        assertEquals(new DefectMap.Region(16, 96, 16, 32), m.region());
        assertEquals(new DefectMap.Region(48, 0, 16, 32), m.region(3, 0));
    }

    @Test
    void tiesGoToTheFirstCellAndScoresAreClampedToZeroOne() {
        DefectMap.Geometry g = DefectMap.Geometry.of(pre(32, 32, Preprocessing.Fit.STRETCH), 32, 32);
        DefectMap m = new DefectMap(2, 2, new float[] {0.3f, 7f, Float.NaN, 1f}, g);
        assertArrayEquals(new float[] {0.3f, 1f, 0f, 1f}, m.values());
        assertEquals(1, m.peak().column());
        assertEquals(0, m.peak().row());
        assertThrows(IllegalArgumentException.class, () -> new DefectMap(2, 2, new float[3], g));
    }

    @Test
    void aBatchOutputIsCutPerImageAndAWrongShapeIsRefusedClearly() {
        DefectMap.Geometry g = DefectMap.Geometry.of(pre(32, 32, Preprocessing.Fit.STRETCH), 32, 32);
        float[] flat = {0, 0, 0, 1, 1, 0, 0, 0};
        DefectMap.Batch b = DefectMap.Batch.of(flat, new long[] {2, 1, 2, 2}, 2, "test output");
        assertEquals(1, b.map(0, g).peak().column());
        assertEquals(1, b.map(0, g).peak().row());
        assertEquals(0, b.map(1, g).peak().column());
        assertEquals(0, b.map(1, g).peak().row());
        VigilException e = assertThrows(VigilException.class,
                () -> DefectMap.Batch.of(flat, new long[] {2, 4}, 2, "model.onnx output 'defect_map'"));
        assertTrue(e.getMessage().startsWith("model.onnx output 'defect_map' has shape [2, 4]; a defect map must be"
                + " [2, 1, h, w]"), e.getMessage());
    }

    @Test
    void theStoredPngIsTheGridInEightBitsAndReadsBack() {
        DefectMap.Geometry g = DefectMap.Geometry.of(pre(64, 48, Preprocessing.Fit.LETTERBOX), 320, 120);
        float[] v = new float[48];
        for (int i = 0; i < v.length; i++) {
            v[i] = i / 47f;
        }
        DefectMap m = new DefectMap(8, 6, v, g);
        byte[] png = m.toPng();
        assertTrue(png.length < 300, "a few hundred bytes at most: " + png.length);
        DefectMap back = DefectMap.fromPng(png, g);
        assertEquals(8, back.width());
        assertEquals(6, back.height());
        for (int i = 0; i < v.length; i++) {
            assertEquals(v[i], back.values()[i], 0.5 / 255 + 1e-6);
        }
        assertEquals(m.peak().region(), back.peak().region());
        assertThrows(VigilException.class, () -> DefectMap.fromPng(new byte[] {1, 2, 3}, g));
    }

    @Test
    void theOverlayColoursThePeakRedBoxesItAndLeavesTheImageSize() throws Exception {
        OpenCv.load();
        DefectMap.Geometry g = DefectMap.Geometry.of(pre(64, 48, Preprocessing.Fit.LETTERBOX), 320, 120);
        DefectMap m = grid(8, 6, g, new int[] {5, 2, 1000});
        Mat frame = new Mat(120, 320, CvType.CV_8UC3, new Scalar(60, 60, 60));
        Mat o = m.overlay(frame);
        try {
            assertEquals(320, o.cols());
            assertEquals(120, o.rows());
            double[] hot = o.get(40, 220);       // centre of the peak cell: JET red (B low, R high)
            double[] cold = o.get(100, 20);      // far away: JET blue
            assertTrue(hot[2] > hot[0] + 20, "red at the peak: " + java.util.Arrays.toString(hot));
            assertTrue(cold[0] > cold[2] + 20, "blue elsewhere: " + java.util.Arrays.toString(cold));
            assertArrayEquals(new double[] {255, 255, 255}, o.get(20, 200), "the peak cell is boxed");
            Files.write(tmp.resolve("overlay.png"), m.overlayPng(frame));
        } finally {
            o.release();
            frame.release();
        }
    }

    @Test
    void theTransparentPictureHasTheFrameSizeAndIsOpaqueOnlyWhereTheScoreIsHigh() {
        DefectMap.Geometry g = DefectMap.Geometry.of(pre(64, 48, Preprocessing.Fit.LETTERBOX), 320, 120);
        DefectMap m = grid(8, 6, g, new int[] {5, 2, 1000});
        Mat rgba = Imgcodecs.imdecode(new MatOfByte(m.transparentPng()), Imgcodecs.IMREAD_UNCHANGED);
        try {
            assertEquals(4, rgba.channels());
            assertEquals(320, rgba.cols());
            assertEquals(120, rgba.rows());
            assertTrue(rgba.get(40, 220)[3] > 200, "opaque at the peak");
            assertTrue(rgba.get(100, 20)[3] < 10, "transparent far from it");
        } finally {
            rgba.release();
        }
    }

    @Test
    void aFixtureModelFindsABrightSpotInALetterboxedFrame() throws Exception {
        ModelPackage pkg = MapModels.write(tmp.resolve("pkg"), "map-1", 64, 48, Preprocessing.Fit.LETTERBOX, 8, true);
        assertEquals(MapModels.MAP, pkg.defectMapTensor());
        OpenCv.load();
        Mat frame = new Mat(120, 320, CvType.CV_8UC3, new Scalar(30, 30, 30));
        Mat dark = frame.clone();
        Imgproc.rectangle(frame, new Point(190, 15), new Point(250, 65), new Scalar(255, 255, 255), -1);
        try (OrtClassifier clf = new OrtClassifier(pkg)) {
            assertTrue(clf.hasDefectMap());
            OrtClassifier.Classification c = clf.classify(frame);
            assertTrue(c.probabilities()[0] > 0.99, "the bright spot is a defect: " + c.probabilities()[0]);
            DefectMap.Peak p = c.defectMap().peak();
            assertEquals(new DefectMap.Region(200, 20, 40, 40), p.region());
            assertTrue(p.region().contains(220, 40));
            assertTrue(p.score() > 0.9, "peak score " + p.score());
            OrtClassifier.Classification ok = clf.classify(dark);
            assertTrue(ok.probabilities()[1] > 0.99, "a dark frame is ok: " + ok.probabilities()[1]);
            assertTrue(ok.defectMap().peak().score() < 0.05);
            // the probabilities-only path reads the right output although the map is listed first
            float[][] probs = clf.run(new float[3 * 64 * 48], 1);
            assertEquals(2, probs[0].length);
        } finally {
            frame.release();
            dark.release();
        }
    }

    @Test
    void aPackageWithoutAMapGivesNoneAndOneThatPromisesAMissingMapIsRefused() throws Exception {
        ModelPackage old = MapModels.write(tmp.resolve("old"), "old-1", 64, 48, Preprocessing.Fit.LETTERBOX, 8, false);
        assertNull(old.defectMapTensor());
        OpenCv.load();
        Mat frame = new Mat(120, 320, CvType.CV_8UC3, new Scalar(30, 30, 30));
        try (OrtClassifier clf = new OrtClassifier(old)) {
            assertNull(clf.classify(frame).defectMap());
        } finally {
            frame.release();
        }
        Path manifest = old.dir().resolve(ModelPackage.MANIFEST);
        Files.writeString(manifest, Files.readString(manifest).replace("\"defectMap\" : null",
                "\"defectMap\" : \"defect_map\""));
        ModelPackage lying = ModelPackage.open(old.dir());
        VigilException e = assertThrows(VigilException.class, () -> new OrtClassifier(lying));
        assertTrue(e.getMessage().contains("names the defect map output 'defect_map' but model.onnx has only"
                + " [probabilities]"), e.getMessage());
    }
}
