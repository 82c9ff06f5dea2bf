package dev.vigil.trainer.anomaly;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.trainer.util.Progress;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KCenterCoresetTest {

    /** {@code clusters} tight clusters of {@code per} points each, their centres far apart, shuffled. */
    private static float[] clustered(int clusters, int per, int dim, long seed, int[] clusterOf) {
        Random rnd = new Random(seed);
        float[][] centres = new float[clusters][dim];
        for (float[] c : centres) {
            for (int d = 0; d < dim; d++) {
                c[d] = (float) (rnd.nextGaussian() * 100);
            }
        }
        int n = clusters * per;
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        float[] pts = new float[n * dim];
        for (int i = 0; i < n; i++) {
            int c = order[i] / per;
            clusterOf[i] = c;
            for (int d = 0; d < dim; d++) {
                pts[i * dim + d] = centres[c][d] + (float) rnd.nextGaussian();
            }
        }
        return pts;
    }

    private static float[] random(int n, int dim, long seed) {
        Random rnd = new Random(seed);
        float[] p = new float[n * dim];
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) rnd.nextGaussian();
        }
        return p;
    }

    /** The textbook greedy loop, every distance computed every step. */
    private static int[] naive(float[] pts, int n, int dim, int k, long seed) {
        float[] min = new float[n];
        Arrays.fill(min, Float.POSITIVE_INFINITY);
        int[] out = new int[Math.min(k, n)];
        int next = new Random(seed).nextInt(n);
        for (int s = 0; s < out.length; s++) {
            out[s] = next;
            min[next] = -1;
            int best = -1;
            for (int i = 0; i < n; i++) {
                float d2 = 0;
                for (int d = 0; d < dim; d++) {
                    float t = pts[i * dim + d] - pts[next * dim + d];
                    d2 += t * t;
                }
                min[i] = Math.min(min[i], d2);
                if (best < 0 || min[i] > min[best]) {
                    best = i;
                }
            }
            next = best;
        }
        return out;
    }

    @Test
    void fiveSelectionsFromFiveTightClustersTakeOneFromEachCluster() {
        int[] clusterOf = new int[500];
        float[] pts = clustered(5, 100, 8, 1, clusterOf);

        int[] picked = KCenterCoreset.select(pts, 500, 8, 5, 7, Progress.silent());

        Set<Integer> clusters = new HashSet<>();
        for (int i : picked) {
            clusters.add(clusterOf[i]);
        }
        assertEquals(5, clusters.size(), "clusters hit: " + clusters);
    }

    @Test
    void theSelectionCoversEveryPointBetterThanARandomSampleOfTheSameSize() {
        int n = 4000;
        int dim = 16;
        float[] pts = random(n, dim, 3);
        int[] greedy = KCenterCoreset.select(pts, n, dim, 200, 1, Progress.silent());
        int[] sample = new Random(1).ints(0, n).distinct().limit(200).toArray();

        assertTrue(radius(pts, n, dim, greedy) < radius(pts, n, dim, sample),
                "k-center radius " + radius(pts, n, dim, greedy) + " vs random " + radius(pts, n, dim, sample));
    }

    private static double radius(float[] pts, int n, int dim, int[] centres) {
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double best = Double.POSITIVE_INFINITY;
            for (int c : centres) {
                double d2 = 0;
                for (int d = 0; d < dim; d++) {
                    double t = pts[i * dim + d] - pts[c * dim + d];
                    d2 += t * t;
                }
                best = Math.min(best, d2);
            }
            worst = Math.max(worst, best);
        }
        return Math.sqrt(worst);
    }

    @Test
    void theSizeIsBoundedByKAndByThePointsAndIndicesAreDistinct() {
        float[] pts = random(300, 4, 5);
        assertEquals(0, KCenterCoreset.select(pts, 300, 4, 0, 1, Progress.silent()).length);
        assertEquals(17, KCenterCoreset.select(pts, 300, 4, 17, 1, Progress.silent()).length);
        int[] all = KCenterCoreset.select(pts, 300, 4, 1000, 1, Progress.silent());
        assertEquals(300, all.length);
        assertEquals(300, Arrays.stream(all).distinct().count());
    }

    @Test
    void exactDuplicatesAreNeverPickedTwice() {
        float[] pts = new float[100 * 3]; // every point the same
        int[] picked = KCenterCoreset.select(pts, 100, 3, 50, 2, Progress.silent());
        assertEquals(50, Arrays.stream(picked).distinct().count());
    }

    @Test
    void theSameSeedGivesTheSameSelectionAndItIsTheTextbookGreedyOne() {
        int n = 3000;
        float[] pts = random(n, 12, 11);
        int[] a = KCenterCoreset.select(pts, n, 12, 300, 5, Progress.silent());
        int[] b = KCenterCoreset.select(pts, n, 12, 300, 5, Progress.silent());
        assertArrayEquals(a, b);
        assertArrayEquals(naive(pts, n, 12, 300, 5), a);
    }

    @Test
    void theParallelPathOnManyPointsAgreesWithTheTextbookGreedyOne() {
        int n = 40_000;
        int[] clusterOf = new int[n];
        float[] pts = clustered(40, 1000, 16, 4, clusterOf);
        int[] fast = KCenterCoreset.select(pts, n, 16, 400, 9, Progress.silent());
        assertArrayEquals(naive(pts, n, 16, 400, 9), fast);
    }

    @Test
    void theProjectionRoughlyKeepsDistances() {
        int dim = 384;
        float[] pts = random(50, dim, 13);
        float[] proj = KCenterCoreset.projection(dim, KCenterCoreset.PROJECTION_DIMS, 1);
        float[] small = KCenterCoreset.project(pts, 50, dim, proj, KCenterCoreset.PROJECTION_DIMS);
        for (int i = 1; i < 50; i++) {
            double full = 0;
            double low = 0;
            for (int d = 0; d < dim; d++) {
                double t = pts[i * dim + d] - pts[d];
                full += t * t;
            }
            for (int d = 0; d < KCenterCoreset.PROJECTION_DIMS; d++) {
                double t = small[i * KCenterCoreset.PROJECTION_DIMS + d] - small[d];
                low += t * t;
            }
            double ratio = Math.sqrt(low / full);
            assertTrue(ratio > 0.7 && ratio < 1.3, "distance ratio " + ratio);
        }
    }
}
