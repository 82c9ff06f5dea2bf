package dev.vigil.core.image;


import java.util.Arrays;

/**
 * How an image becomes a network input: fitted into {@code width x height} ({@link Fit}), channels in
 * {@code colorOrder}, each value {@code (pixel * scale - mean[c]) / std[c]}, laid out CHW. The one place
 * preprocessing constants live: the trainer, the model package manifest and the service all use this record.
 */
public record Preprocessing(int width, int height, ColorOrder colorOrder, float scale, float[] mean, float[] std,
        Fit fit) {

    /** How an image of another size or shape is brought to the input size. */
    public enum Fit {
        /** Resized to exactly the input size, whatever its aspect ratio (packages before geometry was recorded). */
        STRETCH,
        /**
         * Scaled to fit inside the input keeping its aspect ratio, centred, the rest padded with the mean colour (zero
         * after normalisation): a part is never warped, and mixed sizes share one input.
         */
        LETTERBOX
    }

    /**
     * Where an image of {@code srcWidth x srcHeight} lies inside the input: {@code input = frame * scaleX + offsetX}
     * (and the same for y). With {@link Fit#STRETCH} the two scales differ and the offsets are 0.
     */
    public record Placement(double scaleX, double scaleY, int offsetX, int offsetY, int width, int height) {
        /** The frame pixel under input pixel {@code (x, y)} (clamped to the frame). */
        public double[] toFrame(double x, double y, int srcWidth, int srcHeight) {
            double fx = Math.max(0, Math.min(srcWidth, (x - offsetX) / scaleX));
            double fy = Math.max(0, Math.min(srcHeight, (y - offsetY) / scaleY));
            return new double[] {fx, fy};
        }
    }

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
        fit = fit == null ? Fit.STRETCH : fit;
    }

    public Preprocessing(int width, int height, ColorOrder colorOrder, float scale, float[] mean, float[] std) {
        this(width, height, colorOrder, scale, mean, std, Fit.STRETCH);
    }

    /** torchvision-style ImageNet preprocessing: RGB, /255, ImageNet mean and std. */
    public static Preprocessing imagenet(int size) {
        return new Preprocessing(size, size, ColorOrder.RGB, 1f / 255f, IMAGENET_MEAN, IMAGENET_STD);
    }

    public Preprocessing withSize(int size) {
        return new Preprocessing(size, size, colorOrder, scale, mean, std, fit);
    }

    /** The same normalisation with another input geometry. */
    public Preprocessing withGeometry(int w, int h, Fit f) {
        return new Preprocessing(w, h, colorOrder, scale, mean, std, f);
    }

    /** Where a {@code srcWidth x srcHeight} image goes in the input. */
    public Placement placement(int srcWidth, int srcHeight) {
        if (fit == Fit.STRETCH) {
            return new Placement(width / (double) srcWidth, height / (double) srcHeight, 0, 0, width, height);
        }
        double s = Math.min(width / (double) srcWidth, height / (double) srcHeight);
        int w = Math.max(1, Math.min(width, (int) Math.round(srcWidth * s)));
        int h = Math.max(1, Math.min(height, (int) Math.round(srcHeight * s)));
        return new Placement(w / (double) srcWidth, h / (double) srcHeight, (width - w) / 2, (height - h) / 2, w, h);
    }

    /** The padding colour of {@link Fit#LETTERBOX} in B,G,R pixel values: the mean, zero after normalisation. */
    public double[] padBgr() {
        double[] px = new double[3];
        for (int c = 0; c < 3; c++) {
            int dst = colorOrder == ColorOrder.BGR ? c : 2 - c;
            px[dst] = Math.max(0, Math.min(255, Math.round(mean[c] / scale)));
        }
        return px;
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
                && p.scale == scale && Arrays.equals(p.mean, mean) && Arrays.equals(p.std, std) && p.fit == fit;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(mean) * 31 + Arrays.hashCode(std) + width * 7 + height + fit.hashCode();
    }

    @Override
    public String toString() {
        return width + "x" + height + " " + colorOrder + " scale=" + scale + " mean=" + Arrays.toString(mean)
                + " std=" + Arrays.toString(std) + (fit == Fit.STRETCH ? "" : " " + fit);
    }
}
