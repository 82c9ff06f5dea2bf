package dev.vigil.core.drift;

/**
 * The drift score over a sliding window of frames (docs/drift.md). Each frame brings its standardised features
 * {@code z} (the package's {@code drift_features}: zero mean and unit spread over the reference's own frames); the
 * score of the last {@code W} frames is
 *
 * <pre>  score = W · (1/D) · Σ_j  z̄_j²      z̄ = the window's mean feature vector</pre>
 *
 * For frames drawn like the reference's, each {@code z̄_j} has variance {@code 1/W}, so the score averages 1 whatever
 * the window and however correlated the features are; a shift of the features' mean by {@code δ} standard
 * deviations adds about {@code W·mean(δ²)}. One window per camera; not thread-safe.
 */
public final class DriftWindow {
    /** Frames per window when none is configured ({@code drift.window}). */
    public static final int DEFAULT_SIZE = 50;
    /** The alarm threshold when none is configured ({@code drift.threshold}; measured: docs/benchmarks.md, "Drift"). */
    public static final double DEFAULT_THRESHOLD = 2.5;
    private final int size;
    private final int dims;
    private final float[][] ring;
    private final double[] sum;
    private int next;
    private int count;

    public DriftWindow(int size, int dims) {
        if (size < 1 || dims < 1) {
            throw new IllegalArgumentException("a drift window needs at least one frame and one feature, found "
                    + size + " x " + dims);
        }
        this.size = size;
        this.dims = dims;
        this.ring = new float[size][];
        this.sum = new double[dims];
    }

    /**
     * Adds a frame's standardised features.
     *
     * @return the score of the window ending with it, NaN until the window is full
     */
    public double add(float[] z) {
        if (z.length != dims) {
            throw new IllegalArgumentException("drift features of " + z.length + " values in a window of " + dims);
        }
        float[] slot = ring[next];
        if (slot == null) {
            slot = ring[next] = new float[dims];
        } else {
            for (int j = 0; j < dims; j++) {
                sum[j] -= slot[j];
            }
        }
        // the slot is reused: a frame allocates nothing once the window is full
        System.arraycopy(z, 0, slot, 0, dims);
        for (int j = 0; j < dims; j++) {
            sum[j] += slot[j];
        }
        next = (next + 1) % size;
        count = Math.min(count + 1, size);
        if (count < size) {
            return Double.NaN;
        }
        if (next == 0) {
            resum(); // keeps the running sums from accumulating rounding over a long run
        }
        return score();
    }

    /** The score of the frames now in the window (NaN when it is empty). */
    public double score() {
        if (count == 0) {
            return Double.NaN;
        }
        double s = 0;
        for (int j = 0; j < dims; j++) {
            double mean = sum[j] / count;
            s += mean * mean;
        }
        return count * s / dims;
    }

    private void resum() {
        java.util.Arrays.fill(sum, 0);
        for (float[] row : ring) {
            for (int j = 0; j < dims; j++) {
                sum[j] += row[j];
            }
        }
    }

    /** Frames in the window (at most its size). */
    public int frames() {
        return count;
    }

    public int size() {
        return size;
    }

    public int dims() {
        return dims;
    }

    /** The score of a whole set of frames taken as one window (benchmarks, adaptation reports). */
    public static double score(float[][] frames) {
        DriftWindow w = new DriftWindow(frames.length, frames[0].length);
        double s = Double.NaN;
        for (float[] z : frames) {
            s = w.add(z);
        }
        return s;
    }
}
