package dev.vigil.trainer.train;

import dev.vigil.core.drift.DriftWindow;
import dev.vigil.trainer.eval.GroupKFold;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * The reference the service's drift watch compares live frames with (docs/drift.md): each class's per-feature mean
 * of the pooled head-input features ({@code vigil_features}) of its training images as given (no augmentation
 * variants), and the pooled within-class standard deviation (steadier than each class's own from a few images). A
 * frame is standardised with the mean of the class the model predicts for it, so the score does not move with the
 * share of defects on the line, only with how far frames stray from their class's training images.
 *
 * @param mean {@code [K][D]}; a class with fewer than {@link #MIN_CLASS_IMAGES} images has every image's
 * @param scale {@code [K][D]}: 1 / the pooled within-class standard deviation (the same row for every class)
 * @param images images behind each class's mean
 * @param excess how much a window's score of frames from parts the reference never saw exceeds 1, per frame of
 *     window: measured by cross-fitting (the reference from one half of the parts, windows of the other); the
 *     service divides its score by {@code 1 + window * excess} so that frames like the training parts score about 1
 *     at any window
 */
public record DriftReference(float[][] mean, float[][] scale, int[] images, double excess) {
    /** Each feature's deviation gets this share of the median feature's deviation added in quadrature. */
    static final double SD_FLOOR = 0.1;
    /** Fewer images than this give a class the mean of every image instead of its own. */
    static final int MIN_CLASS_IMAGES = 5;

    public int dims() {
        return mean[0].length;
    }

    /**
     * The reference of {@code features} (one row per image) with their {@code labels} among {@code classes}; the
     * {@code groups} (parts) keep the cross-fitting honest.
     */
    public static DriftReference measure(float[][] features, int[] labels, int classes, int[] groups, long seed) {
        int[] every = IntStream.range(0, labels.length).toArray();
        float[][][] ref = stats(features, labels, classes, every);
        int[] images = new int[classes];
        for (int c = 0; c < classes; c++) {
            final int cls = c;
            int n = (int) IntStream.of(labels).filter(l -> l == cls).count();
            images[c] = n >= MIN_CLASS_IMAGES ? n : every.length;
        }
        return new DriftReference(ref[0], ref[1], images, excess(features, labels, classes, groups, seed));
    }

    /** Class means and the pooled within-class inverse deviation of rows {@code idx}. */
    private static float[][][] stats(float[][] f, int[] labels, int k, int[] idx) {
        int d = f[0].length;
        double[][] sum = new double[k][d];
        int[] n = new int[k];
        double[] all = new double[d];
        for (int i : idx) {
            n[labels[i]]++;
            for (int j = 0; j < d; j++) {
                sum[labels[i]][j] += f[i][j];
                all[j] += f[i][j];
            }
        }
        float[][] mean = new float[k][d];
        for (int c = 0; c < k; c++) {
            for (int j = 0; j < d; j++) {
                mean[c][j] = (float) (n[c] >= MIN_CLASS_IMAGES ? sum[c][j] / n[c] : all[j] / idx.length);
            }
        }
        double[] ss = new double[d];
        for (int i : idx) {
            for (int j = 0; j < d; j++) {
                double e = f[i][j] - mean[labels[i]][j];
                ss[j] += e * e;
            }
        }
        double[] sd = new double[d];
        for (int j = 0; j < d; j++) {
            sd[j] = Math.sqrt(ss[j] / Math.max(1, idx.length - 1));
        }
        // pooled ReLU features are sparse: one nearly always zero in these images would turn any activation into a
        // huge z; every deviation gets a floor of a tenth of the median feature's, added in quadrature
        double[] sorted = sd.clone();
        java.util.Arrays.sort(sorted);
        double floor = Math.max(1e-6, SD_FLOOR * sorted[d / 2]);
        float[] scale = new float[d];
        for (int j = 0; j < d; j++) {
            scale[j] = (float) (1 / Math.sqrt(sd[j] * sd[j] + floor * floor));
        }
        float[][] scales = new float[k][];
        for (int c = 0; c < k; c++) {
            scales[c] = scale;
        }
        return new float[][][] {mean, scales};
    }

    /**
     * The score's excess per frame of window on parts the reference did not see: the reference from one half of the
     * parts, sliding windows over a seeded shuffle of the other half, both ways; 0 when there are too few parts to
     * split.
     */
    private static double excess(float[][] f, int[] labels, int classes, int[] groups, long seed) {
        if (GroupKFold.feasibleFolds(labels, groups, 2) < 2) {
            return 0;
        }
        int[] half = GroupKFold.assign(labels, groups, 2, seed + 7);
        double excess = 0;
        int measured = 0;
        for (int h = 0; h < 2; h++) {
            final int other = h;
            int[] refIdx = IntStream.range(0, labels.length).filter(i -> half[i] != other).toArray();
            List<Integer> test = new ArrayList<>();
            for (int i = 0; i < labels.length; i++) {
                if (half[i] == other) {
                    test.add(i);
                }
            }
            if (test.size() < 2) {
                continue;
            }
            Collections.shuffle(test, new Random(seed + h));
            float[][][] ref = stats(f, labels, classes, refIdx);
            int w = Math.min(DriftWindow.DEFAULT_SIZE, test.size());
            DriftWindow win = new DriftWindow(w, f[0].length);
            double sum = 0;
            int windows = 0;
            for (int i : test) {
                float[] z = new float[f[i].length];
                for (int j = 0; j < z.length; j++) {
                    z[j] = (f[i][j] - ref[0][labels[i]][j]) * ref[1][labels[i]][j];
                }
                double score = win.add(z);
                if (!Double.isNaN(score)) {
                    sum += score;
                    windows++;
                }
            }
            excess += Math.max(0, (sum / windows - 1) / w);
            measured++;
        }
        if (measured == 0) {
            return 0;
        }
        // each half's reference mean was estimated from about half the images, the package's from all of them: the
        // error of a class mean adds about 1/n_class per frame of window, so the package's excess is smaller by
        // about K/n (half of the cross-fitted share of that error)
        double referenceError = classes / (double) labels.length;
        return Math.max(0, excess / measured - referenceError);
    }
}
