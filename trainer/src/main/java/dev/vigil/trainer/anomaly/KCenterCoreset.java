package dev.vigil.trainer.anomaly;

import dev.vigil.trainer.util.Progress;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * Greedy k-center selection (the "coreset subsampling" of PatchCore, after Sener and Savarese 2018): start from one
 * point, then repeatedly take the point farthest from everything taken so far. The result covers the whole set with
 * as small a radius as the greedy rule gets (at most twice the best possible), so rare patches of good parts are
 * kept while the many near-identical ones collapse to a few representatives — a random sample of the same size would
 * drop exactly the rare ones, which are the ones a good part would otherwise be rejected for.
 *
 * <p>Guarantees: the indices returned are distinct, in selection order, and there are {@code min(k, n)} of them; the
 * same points, k and seed give the same indices (ties go to the lower index, and the work split across threads does
 * not change any distance). Distances are squared Euclidean in the space given: callers project long vectors to
 * {@link #PROJECTION_DIMS} dimensions first ({@link #projection}), as PatchCore does, which makes every step cost
 * {@code n x 128} instead of {@code n x C} and changes the choice very little (Johnson-Lindenstrauss).
 *
 * <pre>{@code
 * float[] proj = KCenterCoreset.projection(384, KCenterCoreset.PROJECTION_DIMS, seed);
 * float[] small = KCenterCoreset.project(points, n, 384, proj, KCenterCoreset.PROJECTION_DIMS);
 * int[] keep = KCenterCoreset.select(small, n, KCenterCoreset.PROJECTION_DIMS, 1000, seed, Progress.silent());
 * }</pre>
 */
public final class KCenterCoreset {
    /** Dimensions of the random projection the selection runs in. */
    public static final int PROJECTION_DIMS = 128;
    /** Points are stored in blocks of this many, transposed, so the distance update is a vectorisable loop. */
    private static final int BLOCK = 256;
    /** Below this many points one thread does the work (the fork costs more than it saves). */
    private static final int PARALLEL_MIN_POINTS = 16_384;

    private KCenterCoreset() {}

    /**
     * A fixed Gaussian random projection {@code [outDims][inDims]} (row-major) with entries N(0, 1/outDims), so
     * squared distances are preserved in expectation.
     */
    public static float[] projection(int inDims, int outDims, long seed) {
        Random rnd = new Random(seed);
        float[] p = new float[outDims * inDims];
        double sd = 1 / Math.sqrt(outDims);
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) (rnd.nextGaussian() * sd);
        }
        return p;
    }

    /** {@code n} rows of {@code dim} floats times the projection: {@code n} rows of {@code outDims}. */
    public static float[] project(float[] points, int n, int dim, float[] projection, int outDims) {
        float[] out = new float[n * outDims];
        for (int i = 0; i < n; i++) {
            int row = i * dim;
            for (int o = 0; o < outDims; o++) {
                int prow = o * dim;
                float s = 0;
                for (int d = 0; d < dim; d++) {
                    s += points[row + d] * projection[prow + d];
                }
                out[i * outDims + o] = s;
            }
        }
        return out;
    }

    /**
     * Selects {@code k} of the {@code n} points (rows of {@code dim} floats, row-major).
     *
     * @param seed picks the first point
     * @param progress advanced by one per point selected
     * @return the indices of the selected points, in selection order
     */
    public static int[] select(float[] points, int n, int dim, int k, long seed, Progress progress) {
        if (points.length < (long) n * dim) {
            throw new IllegalArgumentException(n + " points of " + dim + " values need " + (long) n * dim
                    + " floats, found " + points.length);
        }
        int m = Math.min(k, n);
        int[] chosen = new int[m];
        if (m == 0) {
            return chosen;
        }
        int blocks = (n + BLOCK - 1) / BLOCK;
        float[] blocked = new float[blocks * dim * BLOCK];
        for (int i = 0; i < n; i++) {
            int base = (i / BLOCK) * dim * BLOCK + i % BLOCK;
            for (int d = 0; d < dim; d++) {
                blocked[base + d * BLOCK] = points[i * dim + d];
            }
        }
        float[] minDist = new float[n];
        Arrays.fill(minDist, Float.POSITIVE_INFINITY);
        int tasks = n >= PARALLEL_MIN_POINTS ? Math.max(1, Runtime.getRuntime().availableProcessors()) : 1;
        int next = new Random(seed).nextInt(n);
        float[] centre = new float[dim];
        long[] best = new long[tasks];
        for (int s = 0; s < m; s++) {
            chosen[s] = next;
            minDist[next] = -1; // taken: never the farthest again, even among exact duplicates
            System.arraycopy(points, next * dim, centre, 0, dim);
            if (tasks == 1) {
                best[0] = update(blocked, dim, n, centre, minDist, 0, blocks);
            } else {
                final int perTask = (blocks + tasks - 1) / tasks;
                IntStream.range(0, tasks).parallel().forEach(t -> best[t] = update(blocked, dim, n, centre, minDist,
                        Math.min(blocks, t * perTask), Math.min(blocks, (t + 1) * perTask)));
            }
            next = argmax(best, minDist);
            progress.step(1);
        }
        return chosen;
    }

    /**
     * Lowers the distance of the points in blocks {@code [from, to)} to the new centre and returns the farthest one
     * of them (index, or -1 when the range is empty).
     */
    private static long update(float[] blocked, int dim, int n, float[] centre, float[] minDist, int from, int to) {
        float[] acc = new float[BLOCK];
        int bestIndex = -1;
        float bestValue = -1;
        for (int b = from; b < to; b++) {
            Arrays.fill(acc, 0f);
            int base = b * dim * BLOCK;
            for (int d = 0; d < dim; d++) {
                float c = centre[d];
                int row = base + d * BLOCK;
                for (int j = 0; j < BLOCK; j++) {
                    float t = blocked[row + j] - c;
                    acc[j] += t * t;
                }
            }
            int first = b * BLOCK;
            int len = Math.min(BLOCK, n - first);
            for (int j = 0; j < len; j++) {
                float v = Math.min(minDist[first + j], acc[j]);
                minDist[first + j] = v;
                if (v > bestValue) {
                    bestValue = v;
                    bestIndex = first + j;
                }
            }
        }
        return bestIndex;
    }

    /** The farthest of the tasks' candidates; ties to the lower index. */
    private static int argmax(long[] best, float[] minDist) {
        int pick = -1;
        for (long b : best) {
            int i = (int) b;
            if (i < 0) {
                continue;
            }
            if (pick < 0 || minDist[i] > minDist[pick] || (minDist[i] == minDist[pick] && i < pick)) {
                pick = i;
            }
        }
        return pick;
    }
}
