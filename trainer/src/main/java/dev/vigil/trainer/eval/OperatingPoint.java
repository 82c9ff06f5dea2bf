package dev.vigil.trainer.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * The defect threshold: a part is rejected when its defect probability (1 - P(ok)) is at least
 * {@code defectThreshold}. Chosen on the validation split as the highest threshold that still reaches the target
 * defect recall, then moved halfway to the next lower score, so the validation figures stay the same and a small
 * shift in scores does not cost recall at once.
 */
public record OperatingPoint(double defectThreshold, double targetRecall, double validationRecall,
        double validationFalseRejectRate, int validationDefects, int validationOk) {

    /**
     * @param defectScores defect probabilities of validation images that are defects
     * @param okScores defect probabilities of validation images that are good parts
     */
    public static OperatingPoint choose(double[] defectScores, double[] okScores, double targetRecall) {
        if (defectScores.length == 0) {
            return new OperatingPoint(0.5, targetRecall, Double.NaN, share(okScores, 0.5), 0, okScores.length);
        }
        double[] d = defectScores.clone();
        Arrays.sort(d);
        int needed = (int) Math.ceil(targetRecall * d.length - 1e-9);
        double atScore = d[d.length - needed]; // the needed-th highest defect score
        double below = Double.NEGATIVE_INFINITY;
        for (double s : d) {
            if (s < atScore) {
                below = Math.max(below, s);
            }
        }
        for (double s : okScores) {
            if (s < atScore) {
                below = Math.max(below, s);
            }
        }
        double threshold = below == Double.NEGATIVE_INFINITY ? atScore / 2 : (atScore + below) / 2;
        threshold = Math.min(threshold, 0.5); // never stricter than a plain vote for "ok"
        return new OperatingPoint(threshold, targetRecall, share(d, threshold), share(okScores, threshold),
                d.length, okScores.length);
    }

    /** One point of the defect-threshold curve: what rejecting at {@code threshold} catches and costs. */
    public record CurvePoint(double threshold, double recall, double falseRejectRate) {}

    /** Most points a curve keeps: enough to draw it, small enough for report.json. */
    public static final int CURVE_POINTS = 101;

    /**
     * The defect-threshold curve (defect recall and false-reject rate as the threshold goes from 1 down to 0), at
     * every distinct score, thinned evenly to at most {@link #CURVE_POINTS} points; the operator page draws it.
     */
    public static List<CurvePoint> curve(double[] defectScores, double[] okScores) {
        TreeSet<Double> distinct = new TreeSet<>();
        distinct.add(0.0);
        distinct.add(1.0);
        Arrays.stream(defectScores).forEach(distinct::add);
        Arrays.stream(okScores).forEach(distinct::add);
        List<Double> t = new ArrayList<>(distinct.descendingSet());
        List<CurvePoint> out = new ArrayList<>();
        double step = Math.max(1.0, (t.size() - 1) / (double) (CURVE_POINTS - 1));
        for (double i = 0; Math.round(i) < t.size(); i += step) {
            double th = t.get((int) Math.round(i));
            out.add(new CurvePoint(th, share(defectScores, th), share(okScores, th)));
        }
        if (out.get(out.size() - 1).threshold() != 0.0) {
            out.add(new CurvePoint(0.0, share(defectScores, 0.0), share(okScores, 0.0)));
        }
        return out;
    }

    /** Share of scores at or above the threshold (0 for no scores). */
    public static double share(double[] scores, double threshold) {
        if (scores.length == 0) {
            return 0;
        }
        return Arrays.stream(scores).filter(s -> s >= threshold).count() / (double) scores.length;
    }
}
