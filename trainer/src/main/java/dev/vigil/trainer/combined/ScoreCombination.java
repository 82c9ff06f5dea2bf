package dev.vigil.trainer.combined;

import java.util.Locale;

/**
 * How a package that holds a supervised head and a memory of good parts turns their two scores into one defect
 * probability:
 *
 * <pre>
 *   l = log(P_sup(defect) / P_sup(ok))          the supervised head's defect logit (probabilities clamped at 1e-7)
 *   z = (d - t) / s                              the anomaly memory's calibrated logit of the worst patch
 *   q = sigmoid(bias + supervisedWeight * l + anomalyWeight * z)    fitted on out-of-fold scores
 *   D = max(q, sigmoid(z + logit(threshold)))    so D &gt;= threshold whenever z &gt;= 0
 * </pre>
 *
 * {@code q} is a logistic regression of "is a defect" on the two scores, fitted (Newton's method, a weak ridge on
 * the weights, weights kept non-negative) on every labelled image's out-of-fold scores — it learns how far to trust
 * each score on the defects that were labelled. The second term is the <em>novelty guard</em>: a part whose worst
 * patch is farther from every good patch than the anomaly memory's own threshold ({@code z >= 0}, placed at its
 * target false-reject rate on good parts it had not seen) is rejected whatever the supervised head says, so a defect
 * type nobody has labelled yet is still flagged. Its price is at most that target rate of extra false rejects, and
 * it is measured and reported.
 *
 * <p>With fewer than {@link #MIN_EACH} defects or good parts among the scores the regression is not fitted: the
 * supervised head's probability is used as it is ({@code bias 0, weights 1 and 0}), with the guard.
 *
 * @param method {@code logistic} (fitted) or {@code supervised} (too few labelled images to fit)
 */
public record ScoreCombination(double bias, double supervisedWeight, double anomalyWeight, String method) {
    /** Fewest defects and good parts the regression is fitted on. */
    public static final int MIN_EACH = 10;
    /** Probabilities are clamped to [EPSILON, 1] before the logit (as the exported graph does, in float). */
    public static final float EPSILON = 1e-7f;
    /** Ridge on the two weights (the bias is free): keeps them finite when the scores separate the classes. */
    static final double RIDGE = 1e-2;

    /** The supervised head's probability as it is (plus the guard). */
    public static ScoreCombination supervisedOnly() {
        return new ScoreCombination(0, 1, 0, "supervised");
    }

    /** The supervised defect logit {@code log(max(1 - pOk, eps)) - log(max(pOk, eps))}, in float as the graph does. */
    public static double supervisedLogit(float pOk) {
        float defect = Math.max(1f - pOk, EPSILON);
        float ok = Math.max(pOk, EPSILON);
        return (float) Math.log(defect) - (float) Math.log(ok);
    }

    /** {@code q}: the regression's defect probability. */
    public double regression(double supervisedLogit, double anomalyLogit) {
        return sigmoid(bias + supervisedWeight * supervisedLogit + anomalyWeight * anomalyLogit);
    }

    /** {@code D}: the package's defect probability for a defect threshold {@code threshold}. */
    public double probability(double supervisedLogit, double anomalyLogit, double threshold) {
        return Math.max(regression(supervisedLogit, anomalyLogit), sigmoid(anomalyLogit + logit(threshold)));
    }

    /**
     * Fits the regression on out-of-fold scores; {@link #supervisedOnly} when there are fewer than {@link #MIN_EACH}
     * defects or good parts.
     */
    public static ScoreCombination fit(double[] supervisedLogit, double[] anomalyLogit, boolean[] defect) {
        int n = defect.length;
        int defects = 0;
        for (boolean d : defect) {
            defects += d ? 1 : 0;
        }
        if (defects < MIN_EACH || n - defects < MIN_EACH) {
            return supervisedOnly();
        }
        double[] w = newton(supervisedLogit, anomalyLogit, defect, new boolean[] {true, true});
        if (w[1] < 0 && w[2] < 0) {
            return supervisedOnly();
        }
        if (w[1] < 0 || w[2] < 0) { // a score that counts against defects is dropped, not inverted
            w = newton(supervisedLogit, anomalyLogit, defect, new boolean[] {w[1] >= 0, w[2] >= 0});
        }
        return new ScoreCombination(w[0], w[1], w[2], "logistic");
    }

    /** Ridge-penalised logistic regression by Newton's method; weights whose flag is false are held at 0. */
    private static double[] newton(double[] x1, double[] x2, boolean[] y, boolean[] use) {
        double[] w = new double[3];
        for (int iter = 0; iter < 100; iter++) {
            double[] g = new double[3];
            double[][] h = new double[3][3];
            for (int i = 0; i < y.length; i++) {
                double[] x = {1, use[0] ? x1[i] : 0, use[1] ? x2[i] : 0};
                double p = sigmoid(w[0] + w[1] * x[1] + w[2] * x[2]);
                double r = p - (y[i] ? 1 : 0);
                double v = Math.max(p * (1 - p), 1e-12);
                for (int a = 0; a < 3; a++) {
                    g[a] += r * x[a];
                    for (int b = 0; b < 3; b++) {
                        h[a][b] += v * x[a] * x[b];
                    }
                }
            }
            for (int a = 1; a < 3; a++) {
                g[a] += RIDGE * y.length * w[a];
                h[a][a] += RIDGE * y.length;
            }
            double[] step = solve(h, g);
            double size = 0;
            for (int a = 0; a < 3; a++) {
                w[a] -= step[a];
                size = Math.max(size, Math.abs(step[a]));
            }
            if (size < 1e-10) {
                break;
            }
        }
        return w;
    }

    /** Solves the 3x3 system {@code a x = b} (Gaussian elimination with partial pivoting). */
    private static double[] solve(double[][] a, double[] b) {
        int n = b.length;
        double[][] m = new double[n][n + 1];
        for (int i = 0; i < n; i++) {
            System.arraycopy(a[i], 0, m[i], 0, n);
            m[i][n] = b[i];
        }
        for (int c = 0; c < n; c++) {
            int pivot = c;
            for (int r = c + 1; r < n; r++) {
                if (Math.abs(m[r][c]) > Math.abs(m[pivot][c])) {
                    pivot = r;
                }
            }
            double[] t = m[c];
            m[c] = m[pivot];
            m[pivot] = t;
            if (Math.abs(m[c][c]) < 1e-300) {
                continue; // a weight held at 0: its row and column are empty but for the ridge
            }
            for (int r = 0; r < n; r++) {
                if (r != c) {
                    double f = m[r][c] / m[c][c];
                    for (int k = c; k <= n; k++) {
                        m[r][k] -= f * m[c][k];
                    }
                }
            }
        }
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = Math.abs(m[i][i]) < 1e-300 ? 0 : m[i][n] / m[i][i];
        }
        return x;
    }

    public static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    public static double logit(double p) {
        return Math.log(p / (1 - p));
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s: sigmoid(%.3f + %.3f * supervised logit + %.3f * anomaly logit)",
                method, bias, supervisedWeight, anomalyWeight);
    }
}
