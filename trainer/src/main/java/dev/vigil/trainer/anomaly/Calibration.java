package dev.vigil.trainer.anomaly;

import dev.vigil.trainer.eval.RecallBound;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Turns a patch's distance to the memory into a defect probability, {@code p = sigmoid((d - threshold) / scale)},
 * from the scores of good images that the memory has not seen (out of fold). The image score is the worst patch's
 * distance, so an image is rejected ({@code p >= 0.5}) exactly when its score reaches {@code threshold}.
 *
 * <ul>
 *   <li>{@code threshold}: the {@code 1 - targetFalseRejectRate} quantile of the good images' scores (linear
 *       interpolation between order statistics), so about that share of good parts is rejected;</li>
 *   <li>{@code scale}: {@code (threshold - median) / ln 99}, so the median good image scores p = 0.01 and one
 *       unit of logit (the service's uncertainty band) is a fixed share of the good parts' spread. When the scores
 *       do not spread (fewer distinct values than that needs), their standard deviation, and at least a millionth
 *       of the threshold.</li>
 * </ul>
 *
 * @param threshold distance at which p = 0.5
 * @param scale distance per unit of logit
 * @param targetFalseRejectRate what was asked for
 * @param outOfFoldFalseRejectRate share of the out-of-fold good scores at or above the threshold
 * @param falseRejectRateUpper95 one-sided 95% upper confidence bound on that share (Clopper-Pearson)
 * @param images how many out-of-fold scores there were
 * @param quantiles of the out-of-fold good scores: min, q50, q90, q95, q99, max, mean
 */
public record Calibration(double threshold, double scale, double targetFalseRejectRate,
        double outOfFoldFalseRejectRate, double falseRejectRateUpper95, int images, Map<String, Double> quantiles) {

    private static final double LN_99 = Math.log(99);

    public Calibration {
        if (!(scale > 0) || !Double.isFinite(threshold)) {
            throw new IllegalArgumentException("a calibration needs a finite threshold and a positive scale, found "
                    + threshold + " and " + scale);
        }
        quantiles = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(quantiles));
    }

    /** The calibration for these out-of-fold scores of good images. */
    public static Calibration of(double[] goodScores, double targetFalseRejectRate) {
        if (goodScores.length == 0) {
            throw new IllegalArgumentException("no scores to calibrate on");
        }
        double[] s = goodScores.clone();
        Arrays.sort(s);
        double threshold = quantile(s, 1 - targetFalseRejectRate);
        double median = quantile(s, 0.5);
        double scale = (threshold - median) / LN_99;
        double mean = Arrays.stream(s).average().orElse(0);
        if (!(scale > 1e-6 * Math.abs(threshold))) {
            double sd = Math.sqrt(Arrays.stream(s).map(v -> (v - mean) * (v - mean)).sum() / s.length);
            scale = Math.max(sd, 1e-6 * Math.max(Math.abs(threshold), 1e-6));
        }
        int rejected = (int) Arrays.stream(s).filter(v -> v >= threshold).count();
        Map<String, Double> q = new LinkedHashMap<>();
        q.put("min", s[0]);
        q.put("q50", median);
        q.put("q90", quantile(s, 0.9));
        q.put("q95", quantile(s, 0.95));
        q.put("q99", quantile(s, 0.99));
        q.put("max", s[s.length - 1]);
        q.put("mean", mean);
        double upper = 1 - RecallBound.lowerBound(s.length - rejected, s.length, RecallBound.CONFIDENCE);
        return new Calibration(threshold, scale, targetFalseRejectRate, rejected / (double) s.length, upper,
                s.length, q);
    }

    /** The defect probability of a distance. */
    public double probability(double distance) {
        return 1 / (1 + Math.exp(-(distance - threshold) / scale));
    }

    /** The {@code p} quantile of sorted values, interpolating linearly between order statistics. */
    static double quantile(double[] sorted, double p) {
        double at = Math.max(0, Math.min(1, p)) * (sorted.length - 1);
        int lo = (int) Math.floor(at);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (at - lo) * (sorted[hi] - sorted[lo]);
    }
}
