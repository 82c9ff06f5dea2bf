package dev.vigil.core.drift;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class DriftWindowTest {
    private static float[] frame(Random rnd, int dims, double shift, double[] common) {
        float[] z = new float[dims];
        for (int j = 0; j < dims; j++) {
            z[j] = (float) (rnd.nextGaussian() + shift + (common == null ? 0 : common[0]));
        }
        return z;
    }

    @Test
    void framesLikeTheReferenceScoreAboutOneAtAnyWindow() {
        for (int w : new int[] {10, 50, 200}) {
            DriftWindow win = new DriftWindow(w, 128);
            Random rnd = new Random(w);
            double sum = 0;
            int n = 0;
            for (int i = 0; i < 5000; i++) {
                double s = win.add(frame(rnd, 128, 0, null));
                if (!Double.isNaN(s)) {
                    sum += s;
                    n++;
                }
            }
            assertEquals(1.0, sum / n, 0.1, "mean score at window " + w);
        }
    }

    @Test
    void correlatedFeaturesStillAverageOne() {
        // every feature shares one common factor per frame: the features are strongly correlated, unit variance
        DriftWindow win = new DriftWindow(50, 64);
        Random rnd = new Random(1);
        double sum = 0;
        int n = 0;
        for (int i = 0; i < 20000; i++) {
            double c = rnd.nextGaussian();
            float[] z = new float[64];
            for (int j = 0; j < 64; j++) {
                z[j] = (float) (Math.sqrt(0.5) * rnd.nextGaussian() + Math.sqrt(0.5) * c);
            }
            double s = win.add(z);
            if (!Double.isNaN(s)) {
                sum += s;
                n++;
            }
        }
        assertEquals(1.0, sum / n, 0.15);
    }

    @Test
    void aShiftAddsTheWindowTimesItsSquare() {
        DriftWindow win = new DriftWindow(50, 128);
        Random rnd = new Random(2);
        double last = Double.NaN;
        for (int i = 0; i < 50; i++) {
            last = win.add(frame(rnd, 128, 0.5, null));
        }
        // 1 + 50 * 0.25 = 13.5, give or take the noise of one window
        assertTrue(last > 10 && last < 17, "score " + last);
    }

    @Test
    void theWindowSlidesAndMatchesAWholeSetScore() {
        Random rnd = new Random(3);
        float[][] frames = new float[30][];
        for (int i = 0; i < frames.length; i++) {
            frames[i] = frame(rnd, 8, i < 10 ? 3 : 0, null);
        }
        DriftWindow win = new DriftWindow(20, 8);
        double s = Double.NaN;
        for (float[] f : frames) {
            s = win.add(f);
        }
        float[][] last20 = java.util.Arrays.copyOfRange(frames, 10, 30);
        assertEquals(DriftWindow.score(last20), s, 1e-9, "the first ten (shifted) frames have left the window");
        assertEquals(20, win.frames());
        assertTrue(Double.isNaN(new DriftWindow(5, 8).add(frames[0])), "no score until the window is full");
        assertThrows(IllegalArgumentException.class, () -> win.add(new float[7]));
    }
}
