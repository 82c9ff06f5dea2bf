package dev.vigil.app.decision;

import java.util.List;

/**
 * Turns class probabilities into a verdict with the package's operating point. The defect score is
 * {@code 1 - P(ok)}; a frame is a defect at or above the package's threshold, and {@code uncertain} when its
 * log-odds are within {@code band} of the threshold's — a band in logits suits a threshold of 0.02 as well as one
 * of 0.5. A model without an ok class classifies defect types only: every frame is a defect of its top class,
 * uncertain when the top class's log-odds are below {@code band}.
 */
public final class DecisionPolicy {
    private final List<String> labels;
    private final int okIndex;
    private final double threshold;
    private final double band;
    /** With an explicit uncertain range: scores below this are ok (else NaN: the band decides). */
    private final double okBelow;

    public DecisionPolicy(List<String> labels, int okIndex, double threshold, double band) {
        this(labels, okIndex, threshold, band, Double.NaN);
    }

    private DecisionPolicy(List<String> labels, int okIndex, double threshold, double band, double okBelow) {
        this.labels = List.copyOf(labels);
        this.okIndex = okIndex;
        this.threshold = Math.min(Math.max(threshold, 1e-6), 1 - 1e-6);
        this.band = band;
        this.okBelow = okBelow;
    }

    /**
     * A camera's rule: its configured {@code defectThreshold} (else the package's operating point), and its uncertain
     * range — {@code okBelow} up to the threshold when set, else {@code uncertaintyBand} logits around it.
     */
    public static DecisionPolicy of(List<String> labels, int okIndex, double packageThreshold,
            dev.vigil.config.DeviceConfig.Decision d) {
        double t = d.defectThreshold() != null ? d.defectThreshold() : packageThreshold;
        return new DecisionPolicy(labels, okIndex, t, d.uncertaintyBand(),
                d.okBelow() != null ? Math.min(d.okBelow(), t) : Double.NaN);
    }

    public Decision decide(float[] probs) {
        int top = 0;
        int topDefect = -1;
        for (int i = 0; i < probs.length; i++) {
            if (probs[i] > probs[top]) {
                top = i;
            }
            if (i != okIndex && (topDefect < 0 || probs[i] > probs[topDefect])) {
                topDefect = i;
            }
        }
        if (okIndex < 0) {
            double p = probs[top];
            Verdict v = logit(p) < band ? Verdict.UNCERTAIN : Verdict.DEFECT;
            return new Decision(v, labels.get(top), p, p, probs.clone());
        }
        double score = 1.0 - probs[okIndex];
        Verdict v;
        if (!Double.isNaN(okBelow)) {
            v = score >= threshold ? Verdict.DEFECT : score >= okBelow ? Verdict.UNCERTAIN : Verdict.OK;
        } else {
            double distance = logit(score) - logit(threshold);
            v = Math.abs(distance) < band ? Verdict.UNCERTAIN : distance > 0 ? Verdict.DEFECT : Verdict.OK;
        }
        int labelIndex = v == Verdict.OK || topDefect < 0 ? okIndex : topDefect;
        return new Decision(v, labels.get(labelIndex), probs[labelIndex], score, probs.clone());
    }

    private static double logit(double p) {
        double q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
        return Math.log(q / (1 - q));
    }
}
