package dev.vigil.app.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.capture.SyntheticSource.Defect;
import dev.vigil.core.image.OpenCv;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;

class SyntheticSourceTest {

    @BeforeAll
    static void loadOpenCv() {
        OpenCv.load();
    }

    @Test
    void sameSeedRendersIdenticalFrames() {
        try (SyntheticSource a = new SyntheticSource(160, 120, 0.5, 42);
                SyntheticSource b = new SyntheticSource(160, 120, 0.5, 42)) {
            a.open();
            b.open();
            for (int i = 0; i < 20; i++) {
                Mat fa = a.read();
                Mat fb = b.read();
                assertEquals(CvType.CV_8UC3, fa.type());
                assertEquals(160, fa.cols());
                assertEquals(120, fa.rows());
                assertEquals(0, differingPixels(fa, fb), "frame " + i);
                assertEquals(a.lastDefects(), b.lastDefects());
                assertEquals(a.lastName(), b.lastName());
                fa.release();
                fb.release();
            }
        }
    }

    @Test
    void reopeningStartsTheSameLineAgain() {
        try (SyntheticSource s = new SyntheticSource(96, 64, 0.5, 3)) {
            s.open();
            Mat first = s.read();
            s.read().release();
            s.open();
            Mat again = s.read();
            assertEquals(0, differingPixels(first, again));
            first.release();
            again.release();
        }
    }

    @Test
    void anotherSeedRendersAnotherLine() {
        try (SyntheticSource a = new SyntheticSource(96, 64, 0.2, 1);
                SyntheticSource b = new SyntheticSource(96, 64, 0.2, 2)) {
            a.open();
            b.open();
            Mat fa = a.read();
            Mat fb = b.read();
            assertTrue(differingPixels(fa, fb) > 96 * 64 / 4);
            fa.release();
            fb.release();
        }
    }

    @Test
    void defectRateIsRoughlyHonouredAndAllKindsOccur() {
        try (SyntheticSource s = new SyntheticSource(128, 96, 0.3, 7)) {
            s.open();
            int defective = 0;
            Set<Defect> kinds = EnumSet.noneOf(Defect.class);
            for (int i = 0; i < 200; i++) {
                s.read().release();
                if (s.lastDefect() != Defect.NONE) {
                    defective++;
                    kinds.addAll(s.lastDefects());
                    assertTrue(s.lastName().endsWith(s.lastDefect().name().toLowerCase()), s.lastName());
                } else {
                    assertTrue(s.lastDefects().isEmpty());
                    assertTrue(s.lastName().endsWith("-ok"), s.lastName());
                }
            }
            // 200 parts at 0.3: mean 60, standard deviation 6.5
            assertTrue(defective >= 40 && defective <= 80, "defective parts: " + defective);
            assertEquals(EnumSet.of(Defect.SCRATCH, Defect.SPOT, Defect.CRACK, Defect.DENT), kinds);
        }
    }

    @Test
    void defectRateZeroRendersNoDefects() {
        try (SyntheticSource s = new SyntheticSource(96, 64, 0.0, 5)) {
            s.open();
            for (int i = 0; i < 200; i++) {
                s.read().release();
                assertEquals(Defect.NONE, s.lastDefect());
            }
        }
    }

    @Test
    void aDefectChangesOnlyASmallPartOfTheSamePart() {
        try (SyntheticSource good = new SyntheticSource(320, 240, 0.0, 9);
                SyntheticSource bad = new SyntheticSource(320, 240, 1.0, 9)) {
            good.open();
            bad.open();
            for (int i = 0; i < 10; i++) {
                Mat g = good.read();
                Mat b = bad.read();
                assertNotEquals(Defect.NONE, bad.lastDefect());
                int changed = differingPixels(g, b);
                assertTrue(changed > 10 && changed < 320 * 240 / 10,
                        "frame " + i + " " + bad.lastDefects() + ": " + changed + " pixels differ");
                g.release();
                b.release();
            }
        }
    }

    @Test
    void rendersQuickly() {
        try (SyntheticSource s = new SyntheticSource(640, 480, 0.5, 1)) {
            s.open();
            for (int i = 0; i < 20; i++) {
                s.read().release();
            }
            int n = 100;
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                s.read().release();
            }
            double ms = (System.nanoTime() - t0) / 1e6 / n;
            assertTrue(ms < 10, "per 640x480 frame: " + ms + " ms");
            assertFalse(s.finished());
        }
    }

    /** Pixels where any channel differs. */
    static int differingPixels(Mat a, Mat b) {
        Mat diff = new Mat();
        Core.absdiff(a, b, diff);
        List<Mat> channels = new ArrayList<>();
        Core.split(diff, channels);
        Mat any = new Mat();
        Core.max(channels.get(0), channels.get(1), any);
        Core.max(any, channels.get(2), any);
        int n = Core.countNonZero(any);
        diff.release();
        any.release();
        channels.forEach(Mat::release);
        return n;
    }
}
