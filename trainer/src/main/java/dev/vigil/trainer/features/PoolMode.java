package dev.vigil.trainer.features;

import dev.vigil.core.VigilException;
import java.util.Locale;

/**
 * How a feature map becomes a vector. Average pooling dilutes a small defect over the whole map; max pooling keeps
 * the strongest local response; {@code AVGMAX} concatenates both; {@code AVGSTD} concatenates the mean and the
 * standard deviation over positions (first- and second-order statistics: how textured a surface is, per channel).
 */
public enum PoolMode {
    AVG,
    MAX,
    AVGMAX,
    AVGSTD;

    /** Added under the square root of the variance, in every implementation (Java, DJL, ONNX). */
    public static final float STD_EPSILON = 1e-6f;

    public int width(int channels) {
        return this == AVGMAX || this == AVGSTD ? 2 * channels : channels;
    }

    /** Pools one CHW map ({@code channels x plane} floats at {@code offset}) into {@code out}. */
    public void pool(float[] map, int offset, int channels, int plane, float[] out, int outOffset) {
        for (int c = 0; c < channels; c++) {
            float sum = 0;
            float sumSq = 0;
            float max = Float.NEGATIVE_INFINITY;
            int o = offset + c * plane;
            for (int i = 0; i < plane; i++) {
                float v = map[o + i];
                sum += v;
                sumSq += v * v;
                if (v > max) {
                    max = v;
                }
            }
            switch (this) {
                case AVG -> out[outOffset + c] = sum / plane;
                case MAX -> out[outOffset + c] = max;
                case AVGMAX -> {
                    out[outOffset + c] = sum / plane;
                    out[outOffset + channels + c] = max;
                }
                case AVGSTD -> {
                    float mean = sum / plane;
                    out[outOffset + c] = mean;
                    out[outOffset + channels + c] = (float) Math.sqrt(Math.max(sumSq / plane - mean * mean, 0f)
                            + STD_EPSILON);
                }
            }
        }
    }

    public static PoolMode parse(String s) {
        try {
            return PoolMode.valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new VigilException("--pool: unknown pooling '" + s + "'; use avg, max, avgmax or avgstd");
        }
    }
}
