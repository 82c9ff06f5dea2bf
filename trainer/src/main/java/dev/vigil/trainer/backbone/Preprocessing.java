package dev.vigil.trainer.backbone;

import java.util.Arrays;

/**
 * How an image becomes a network input: resized to {@code width x height}, channels in {@code colorOrder}, each
 * value {@code (pixel * scale - mean[c]) / std[c]}, laid out CHW. The one place preprocessing constants live: the
 * trainer, the model package manifest and the service all use this record.
 */
public record Preprocessing(int width, int height, ColorOrder colorOrder, float scale, float[] mean, float[] std) {

    public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};

    public Preprocessing {
        if (width < 16 || height < 16 || width > 4096 || height > 4096) {
            throw new IllegalArgumentException("input size " + width + "x" + height + " is outside 16..4096");
        }
        if (mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("mean and std need 3 values each");
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** torchvision-style ImageNet preprocessing: RGB, /255, ImageNet mean and std. */
    public static Preprocessing imagenet(int size) {
        return new Preprocessing(size, size, ColorOrder.RGB, 1f / 255f, IMAGENET_MEAN, IMAGENET_STD);
    }

    public Preprocessing withSize(int size) {
        return new Preprocessing(size, size, colorOrder, scale, mean, std);
    }

    public int valuesPerImage() {
        return 3 * width * height;
    }

    /**
     * Converts interleaved BGR bytes of a {@code width x height} image into the network's CHW floats.
     *
     * @param bgr interleaved B,G,R bytes, row-major
     * @param out receives {@link #valuesPerImage()} floats starting at {@code offset}
     */
    public void toChw(byte[] bgr, float[] out, int offset) {
        int plane = width * height;
        for (int c = 0; c < 3; c++) {
            int src = colorOrder == ColorOrder.BGR ? c : 2 - c;
            float m = mean[c];
            float k = scale / std[c];
            float bias = m / std[c];
            int o = offset + c * plane;
            for (int i = 0; i < plane; i++) {
                out[o + i] = (bgr[3 * i + src] & 0xff) * k - bias;
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Preprocessing p && p.width == width && p.height == height && p.colorOrder == colorOrder
                && p.scale == scale && Arrays.equals(p.mean, mean) && Arrays.equals(p.std, std);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(mean) * 31 + Arrays.hashCode(std) + width * 7 + height;
    }

    @Override
    public String toString() {
        return width + "x" + height + " " + colorOrder + " scale=" + scale + " mean=" + Arrays.toString(mean)
                + " std=" + Arrays.toString(std);
    }
}
