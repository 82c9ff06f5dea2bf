package dev.vigil.trainer.anomaly;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The memory of an anomaly model: patch-feature vectors of good parts ({@code size} rows of {@code channels}
 * floats, row-major) and the centre subtracted from both sides before distances are taken. Distances do not depend
 * on the centre; it only keeps the numbers small, so {@code ||x||^2 - 2 x.m + ||m||^2} in float loses little to
 * cancellation (squeezenet activations are in the tens to hundreds).
 *
 * <p>{@link #nearest} is the reference computation in Java that the exported ONNX graph is checked against.
 */
public record PatchMemory(float[] rows, int size, int channels, float[] centre) {
    private static final int CELL_BLOCK = 16;
    private static final int ROW_BLOCK = 1024;

    public PatchMemory {
        if (rows.length != size * channels || centre.length != channels) {
            throw new IllegalArgumentException("a memory of " + size + " x " + channels + " needs " + size * channels
                    + " values and a centre of " + channels + ", found " + rows.length + " and " + centre.length);
        }
    }

    /** A memory of these rows, centred on their mean. */
    public static PatchMemory of(float[] rows, int size, int channels) {
        double[] mean = new double[channels];
        for (int i = 0; i < size; i++) {
            for (int c = 0; c < channels; c++) {
                mean[c] += rows[i * channels + c];
            }
        }
        float[] centre = new float[channels];
        for (int c = 0; c < channels; c++) {
            centre[c] = size == 0 ? 0f : (float) (mean[c] / size);
        }
        return new PatchMemory(rows, size, channels, centre);
    }

    /** The rows minus the centre (what the graph stores). */
    public float[] centredRows() {
        float[] out = new float[rows.length];
        for (int i = 0; i < size; i++) {
            for (int c = 0; c < channels; c++) {
                out[i * channels + c] = rows[i * channels + c] - centre[c];
            }
        }
        return out;
    }

    /** {@code ||m - centre||^2} of every row. */
    public double[] squaredNorms() {
        float[] m = centredRows();
        double[] out = new double[size];
        for (int i = 0; i < size; i++) {
            double s = 0;
            for (int c = 0; c < channels; c++) {
                double v = m[i * channels + c];
                s += v * v;
            }
            out[i] = s;
        }
        return out;
    }

    /**
     * For every cell of a CHW feature map ({@code channels x cells}), the Euclidean distance to its nearest memory
     * row. Dot products in float (as ONNX Runtime computes them), the rest in double.
     */
    public double[] nearest(float[] map, int cells) {
        if (map.length != channels * cells) {
            throw new IllegalArgumentException("a map of " + channels + " x " + cells + " needs " + channels * cells
                    + " values, found " + map.length);
        }
        float[] centred = centredRows();
        float[] transposed = new float[channels * size];
        for (int i = 0; i < size; i++) {
            for (int c = 0; c < channels; c++) {
                transposed[c * size + i] = centred[i * channels + c];
            }
        }
        double[] mm = squaredNorms();
        float[] x = new float[map.length];
        for (int c = 0; c < channels; c++) {
            for (int j = 0; j < cells; j++) {
                x[c * cells + j] = map[c * cells + j] - centre[c];
            }
        }
        double[] out = new double[cells];
        int cellBlocks = (cells + CELL_BLOCK - 1) / CELL_BLOCK;
        IntStream.range(0, cellBlocks).parallel().forEach(cb -> {
            int c0 = cb * CELL_BLOCK;
            int len = Math.min(CELL_BLOCK, cells - c0);
            float[] dots = new float[CELL_BLOCK * ROW_BLOCK];
            double[] best = new double[CELL_BLOCK];
            Arrays.fill(best, Double.POSITIVE_INFINITY);
            for (int m0 = 0; m0 < size; m0 += ROW_BLOCK) {
                int rowsHere = Math.min(ROW_BLOCK, size - m0);
                Arrays.fill(dots, 0f);
                for (int c = 0; c < channels; c++) {
                    int xRow = c * cells + c0;
                    int mRow = c * size + m0;
                    for (int i = 0; i < len; i++) {
                        float xi = x[xRow + i];
                        int dRow = i * ROW_BLOCK;
                        for (int j = 0; j < rowsHere; j++) {
                            dots[dRow + j] += xi * transposed[mRow + j];
                        }
                    }
                }
                for (int i = 0; i < len; i++) {
                    for (int j = 0; j < rowsHere; j++) {
                        best[i] = Math.min(best[i], mm[m0 + j] - 2.0 * dots[i * ROW_BLOCK + j]);
                    }
                }
            }
            for (int i = 0; i < len; i++) {
                double xx = 0;
                for (int c = 0; c < channels; c++) {
                    double v = x[c * cells + c0 + i];
                    xx += v * v;
                }
                out[c0 + i] = Math.sqrt(Math.max(0, xx + best[i]));
            }
        });
        return out;
    }
}
