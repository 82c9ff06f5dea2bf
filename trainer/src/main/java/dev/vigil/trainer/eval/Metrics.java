package dev.vigil.trainer.eval;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Classification quality on a labelled set. Field names are the {@code evaluate --json} contract.
 *
 * @param confusion rows are true labels, columns predicted labels
 * @param defectRecall share of defective parts rejected at the operating point (NaN without an ok class)
 * @param falseRejectRate share of good parts rejected at the operating point (NaN without an ok class)
 */
public record Metrics(int count, double accuracy, double balancedAccuracy, Map<String, ClassMetrics> perClass,
        int[][] confusion, List<String> labels, double defectRecall, double falseRejectRate, Double defectThreshold) {

    public record ClassMetrics(double precision, double recall, int support) {}

    /**
     * @param truth true class per sample
     * @param probabilities class probabilities per sample
     * @param okIndex the good-part class, or -1
     * @param threshold the defect threshold of the operating point (used when okIndex ≥ 0)
     */
    public static Metrics of(List<String> labels, int[] truth, float[][] probabilities, int okIndex,
            double threshold) {
        int k = labels.size();
        int[][] confusion = new int[k][k];
        int correct = 0;
        int defects = 0;
        int caught = 0;
        int oks = 0;
        int rejected = 0;
        for (int i = 0; i < truth.length; i++) {
            int pred = argmax(probabilities[i]);
            confusion[truth[i]][pred]++;
            if (pred == truth[i]) {
                correct++;
            }
            if (okIndex >= 0) {
                boolean reject = 1.0 - probabilities[i][okIndex] >= threshold;
                if (truth[i] == okIndex) {
                    oks++;
                    rejected += reject ? 1 : 0;
                } else {
                    defects++;
                    caught += reject ? 1 : 0;
                }
            }
        }
        Map<String, ClassMetrics> per = new LinkedHashMap<>();
        double recallSum = 0;
        int present = 0;
        for (int c = 0; c < k; c++) {
            int support = 0;
            int predicted = 0;
            for (int j = 0; j < k; j++) {
                support += confusion[c][j];
                predicted += confusion[j][c];
            }
            double recall = support == 0 ? Double.NaN : confusion[c][c] / (double) support;
            double precision = predicted == 0 ? Double.NaN : confusion[c][c] / (double) predicted;
            if (support > 0) {
                recallSum += recall;
                present++;
            }
            per.put(labels.get(c), new ClassMetrics(precision, recall, support));
        }
        return new Metrics(truth.length, truth.length == 0 ? Double.NaN : correct / (double) truth.length,
                present == 0 ? Double.NaN : recallSum / present, per, confusion, labels,
                okIndex < 0 || defects == 0 ? Double.NaN : caught / (double) defects,
                okIndex < 0 || oks == 0 ? Double.NaN : rejected / (double) oks,
                okIndex < 0 ? null : threshold);
    }

    public static int argmax(float[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) {
            if (p[i] > p[best]) {
                best = i;
            }
        }
        return best;
    }
}
