package dev.vigil.trainer.eval;

import java.util.Arrays;

/**
 * Image-level area under the ROC curve: the probability that a randomly drawn positive (defect) scores above a
 * randomly drawn negative (good part), a tie counting one half. It does not depend on any threshold, so it says how
 * well the scores separate the classes before an operating point is chosen.
 *
 * <p>Guarantees: the result is in [0, 1] (1 = every positive above every negative, 0 = every positive below, 0.5 =
 * all scores tied); it equals the Mann-Whitney U statistic divided by {@code positives × negatives}, computed from
 * mid-ranks in O(n log n); it is NaN when either side has no scores, because there is no pair to compare. Scores
 * may be any finite or infinite doubles; a NaN score is a bug upstream and is rejected.
 *
 * <pre>{@code
 * double auc = Auroc.of(defectScores, okScores); // 0.5 = no better than chance
 * }</pre>
 */
public final class Auroc {
    private Auroc() {}

    /**
     * @param positiveScores scores of the positive (defect) images; higher means more likely positive
     * @param negativeScores scores of the negative (good) images
     * @return the area under the ROC curve, or NaN when either array is empty
     * @throws IllegalArgumentException when a score is NaN
     */
    public static double of(double[] positiveScores, double[] negativeScores) {
        int p = positiveScores.length;
        int q = negativeScores.length;
        if (p == 0 || q == 0) {
            return Double.NaN;
        }
        int n = p + q;
        // Sort (score, side) pairs by score; positives are indices 0..p-1.
        double[] scores = new double[n];
        System.arraycopy(positiveScores, 0, scores, 0, p);
        System.arraycopy(negativeScores, 0, scores, p, q);
        for (double s : scores) {
            if (Double.isNaN(s)) {
                throw new IllegalArgumentException("a score is NaN; the model produced no score for an image");
            }
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(scores[a], scores[b]));
        // Sum of the mid-ranks (1-based) of the positives.
        double positiveRankSum = 0;
        int i = 0;
        while (i < n) {
            int j = i;
            while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) {
                j++;
            }
            double midRank = (i + j) / 2.0 + 1;
            for (int t = i; t <= j; t++) {
                if (order[t] < p) {
                    positiveRankSum += midRank;
                }
            }
            i = j + 1;
        }
        double u = positiveRankSum - p * (p + 1) / 2.0;
        return u / ((double) p * q);
    }
}
