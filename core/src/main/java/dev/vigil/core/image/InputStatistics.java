package dev.vigil.core.image;

import org.opencv.core.Core;
import org.opencv.core.Mat;
import org.opencv.core.MatOfDouble;

/**
 * Per-channel mean and standard deviation of images as the network sees them: each image brought to its place in the
 * input ({@link ImageIo#fitted}: scaled as {@link Preprocessing#fit()} says, the letterbox padding left out), its
 * pixels' mean and mean square per channel, averaged over the images (every image counts the same, whatever its
 * size). Channels are in the network's order ({@link Preprocessing#colorOrder()}).
 *
 * <p>Two uses: the trainer stores the training images' figures in the package ({@code output.drift.input}, in the
 * network's normalised units), and {@code vigil adapt} measures a new condition's frames and rewrites the input
 * normalisation so that they reach the network with the training images' per-channel mean and spread — a change of
 * exposure, gain or white balance is undone before the first layer ({@link #alignedTo}).
 */
public final class InputStatistics {
    /** The most the input normalisation's spread is changed by, either way (a black or flat frame set). */
    public static final double MAX_GAIN = 10;

    /**
     * Figures in pixel units (0..255) or normalised units (what the network's first layer receives).
     *
     * @param mean per channel, network order
     * @param std per channel
     * @param images the images behind them
     */
    public record Channels(float[] mean, float[] std, int images) {
        public Channels {
            mean = mean.clone();
            std = std.clone();
        }
    }

    private final Preprocessing pre;
    private final double[] sum = new double[3];
    private final double[] sumSq = new double[3];
    private int images;

    public InputStatistics(Preprocessing pre) {
        this.pre = pre;
    }

    /** Adds one decoded BGR image (left as it is). */
    public void add(Mat bgr) {
        Mat fitted = ImageIo.fitted(bgr, pre);
        try (var mean = new Closing(new MatOfDouble()); var sd = new Closing(new MatOfDouble())) {
            Core.meanStdDev(fitted, mean.m(), sd.m());
            double[] mu = mean.m().toArray();
            double[] s = sd.m().toArray();
            for (int c = 0; c < 3; c++) {
                int src = pre.colorOrder() == ColorOrder.BGR ? c : 2 - c;
                sum[c] += mu[src];
                sumSq[c] += s[src] * s[src] + mu[src] * mu[src];
            }
            images++;
        } finally {
            fitted.release();
        }
    }

    /** Adds one encoded image file's bytes ({@code what} names it in an error). */
    public void add(byte[] encoded, String what) {
        Mat m = ImageIo.decode(encoded, what);
        try {
            add(m);
        } finally {
            m.release();
        }
    }

    public int images() {
        return images;
    }

    /** The figures so far, in pixel units. */
    public Channels pixels() {
        if (images == 0) {
            throw new IllegalStateException("no images added");
        }
        return fromMoments(sum, sumSq, images);
    }

    /** Mean and standard deviation per channel from sums of values and of their squares over {@code n}. */
    private static Channels fromMoments(double[] sum, double[] sumSq, double n) {
        float[] mean = new float[3];
        float[] std = new float[3];
        for (int c = 0; c < 3; c++) {
            double m = sum[c] / n;
            mean[c] = (float) m;
            std[c] = (float) Math.sqrt(Math.max(0, sumSq[c] / n - m * m));
        }
        return new Channels(mean, std, (int) n);
    }

    /** Pixel-unit figures as the network receives them under {@code p}: {@code (v * scale - mean) / std}. */
    public static Channels normalised(Channels pixels, Preprocessing p) {
        float[] mean = new float[3];
        float[] std = new float[3];
        for (int c = 0; c < 3; c++) {
            mean[c] = (pixels.mean()[c] * p.scale() - p.mean()[c]) / p.std()[c];
            std[c] = pixels.std()[c] * p.scale() / p.std()[c];
        }
        return new Channels(mean, std, pixels.images());
    }

    /**
     * Pools per-class figures (normalised or pixel units alike) into the figures of all their images together: the
     * mean of the means and the pooled second moment, each class weighted by its images.
     */
    public static Channels pooled(java.util.List<Channels> parts) {
        double n = 0;
        double[] s = new double[3];
        double[] s2 = new double[3];
        for (Channels part : parts) {
            for (int c = 0; c < 3; c++) {
                s[c] += part.images() * (double) part.mean()[c];
                s2[c] += part.images() * ((double) part.std()[c] * part.std()[c]
                        + (double) part.mean()[c] * part.mean()[c]);
            }
            n += part.images();
        }
        if (n == 0) {
            throw new IllegalArgumentException("no images behind the figures to pool");
        }
        return fromMoments(s, s2, n);
    }

    /**
     * The input normalisation under which images with pixel figures {@code frames} reach the network with the
     * normalised figures {@code reference}: per channel {@code std' = sd_frames * scale / sd_ref} and
     * {@code mean' = mean_frames * scale - mean_ref * std'}. It depends only on the frames and the reference, not on
     * {@code p}'s own mean and std, so adapting an adapted package starts from the training images again. The
     * spread is kept within {@link #MAX_GAIN} of {@code p}'s either way, and a flat channel keeps {@code p}'s.
     */
    public static Preprocessing alignedTo(Preprocessing p, Channels frames, Channels reference) {
        float[] mean = new float[3];
        float[] std = new float[3];
        for (int c = 0; c < 3; c++) {
            double s = reference.std()[c] > 1e-6 && frames.std()[c] > 1e-3
                    ? frames.std()[c] * p.scale() / reference.std()[c] : p.std()[c];
            s = Math.max(p.std()[c] / MAX_GAIN, Math.min(p.std()[c] * MAX_GAIN, s));
            std[c] = (float) s;
            mean[c] = (float) (frames.mean()[c] * p.scale() - reference.mean()[c] * s);
        }
        return new Preprocessing(p.width(), p.height(), p.colorOrder(), p.scale(), mean, std, p.fit());
    }

    private record Closing(MatOfDouble m) implements AutoCloseable {
        @Override
        public void close() {
            m.release();
        }
    }
}
