package dev.vigil.trainer.eval;

import dev.vigil.core.VigilException;

/**
 * A measured defect recall together with how low the true recall could plausibly be, given how few defects were
 * seen: {@code lower95} is the one-sided 95% Clopper–Pearson lower confidence bound on the binomial proportion
 * {@code caught / total}. "Caught 10 of 10" reads as recall 1.0 but only proves the true recall is above 0.74.
 *
 * <p>Guarantees: the bound is exact (Clopper–Pearson, never below its nominal 95% coverage), computed as the 5%
 * quantile of Beta(caught, total − caught + 1) from a regularized incomplete beta function (continued fraction,
 * as in Numerical Recipes) inverted by bisection to about 1e-14; it is 0 when nothing was caught, and both
 * {@code recall} and {@code lower95} are NaN when there were no defects to catch. {@code 0 ≤ lower95 ≤ recall}
 * otherwise. No library is needed.
 *
 * <pre>{@code
 * RecallBound b = RecallBound.of(45, 50);          // recall 0.90, lower95 ≈ 0.80
 * int n = RecallBound.defectsNeeded(0.95);          // 59 defects, all caught, to claim 95% recall
 * }</pre>
 *
 * @param caught defects rejected
 * @param total defects seen
 * @param recall {@code caught / total}, NaN when {@code total = 0}
 * @param lower95 one-sided 95% lower confidence bound on the recall, NaN when {@code total = 0}
 */
public record RecallBound(int caught, int total, double recall, double lower95) {
    /** The confidence of {@link #lower95}. */
    public static final double CONFIDENCE = 0.95;

    public RecallBound {
        if (total < 0 || caught < 0 || caught > total) {
            throw new IllegalArgumentException("caught must be between 0 and total, found caught=" + caught
                    + " total=" + total);
        }
    }

    /** The recall and its 95% lower bound for {@code caught} of {@code total} defects. */
    public static RecallBound of(int caught, int total) {
        if (total < 0 || caught < 0 || caught > total) {
            throw new IllegalArgumentException("caught must be between 0 and total, found caught=" + caught
                    + " total=" + total);
        }
        if (total == 0) {
            return new RecallBound(0, 0, Double.NaN, Double.NaN);
        }
        return new RecallBound(caught, total, caught / (double) total, lowerBound(caught, total, CONFIDENCE));
    }

    /**
     * The one-sided Clopper–Pearson lower bound at {@code confidence}: the p at which seeing {@code caught} or more
     * of {@code total} has probability {@code 1 − confidence}, i.e. the {@code (1 − confidence)} quantile of
     * Beta(caught, total − caught + 1). 0 when {@code caught = 0}, NaN when {@code total = 0}.
     */
    public static double lowerBound(int caught, int total, double confidence) {
        if (!(confidence > 0 && confidence < 1)) {
            throw new IllegalArgumentException("confidence must be in (0, 1), found " + confidence);
        }
        if (total < 0 || caught < 0 || caught > total) {
            throw new IllegalArgumentException("caught must be between 0 and total, found caught=" + caught
                    + " total=" + total);
        }
        if (total == 0) {
            return Double.NaN;
        }
        if (caught == 0) {
            return 0;
        }
        return betaQuantile(1 - confidence, caught, total - caught + 1);
    }

    /**
     * The fewest defects, every one of them caught, for which the 95% lower bound reaches {@code targetRecall}:
     * the smallest n with {@code 0.05^(1/n) ≥ targetRecall} (59 for 0.95, 299 for 0.99). Fewer defects than that
     * in the validation set cannot demonstrate the target, however good the model.
     *
     * @throws VigilException when {@code targetRecall} is not strictly between 0 and 1
     */
    public static int defectsNeeded(double targetRecall) {
        if (!(targetRecall > 0 && targetRecall < 1)) {
            throw new VigilException("target recall must be between 0 and 1 (exclusive) to be demonstrable, found "
                    + targetRecall + "; a 95% lower bound never reaches 1 with finitely many defects, so ask for"
                    + " e.g. 0.99");
        }
        // Closed form for "all caught" (Beta(n, 1) has CDF p^n), then checked against the bound itself.
        int n = (int) Math.max(1, Math.ceil(Math.log(1 - CONFIDENCE) / Math.log(targetRecall)));
        while (n > 1 && of(n - 1, n - 1).lower95() >= targetRecall) {
            n--;
        }
        while (of(n, n).lower95() < targetRecall) {
            n++;
        }
        return n;
    }

    // ---- the beta distribution ------------------------------------------------------------------------------

    /** The p with I_p(a, b) = q, by bisection on [0, 1] (I is increasing in p). */
    static double betaQuantile(double q, double a, double b) {
        double lo = 0;
        double hi = 1;
        for (int i = 0; i < 200 && hi - lo > 1e-15; i++) {
            double mid = (lo + hi) / 2;
            if (regularizedIncompleteBeta(mid, a, b) < q) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return (lo + hi) / 2;
    }

    /** The regularized incomplete beta function I_x(a, b) = P(Beta(a, b) ≤ x), for a, b > 0. */
    static double regularizedIncompleteBeta(double x, double a, double b) {
        if (!(a > 0 && b > 0)) {
            throw new IllegalArgumentException("beta parameters must be positive, found a=" + a + " b=" + b);
        }
        if (x <= 0) {
            return 0;
        }
        if (x >= 1) {
            return 1;
        }
        double front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x)
                + b * Math.log1p(-x));
        // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
        if (x < (a + 1) / (a + b + 2)) {
            return front * betaContinuedFraction(x, a, b) / a;
        }
        return 1 - front * betaContinuedFraction(1 - x, b, a) / b;
    }

    /** The continued fraction for I_x(a, b) by the modified Lentz method (Numerical Recipes §6.4, betacf). */
    private static double betaContinuedFraction(double x, double a, double b) {
        final int maxIterations = 10_000;
        final double eps = 1e-16;
        final double tiny = 1e-300;
        double qab = a + b;
        double qap = a + 1;
        double qam = a - 1;
        double c = 1;
        double d = 1 - qab * x / qap;
        if (Math.abs(d) < tiny) {
            d = tiny;
        }
        d = 1 / d;
        double h = d;
        for (int m = 1; m <= maxIterations; m++) {
            int m2 = 2 * m;
            double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
            d = 1 + aa * d;
            if (Math.abs(d) < tiny) {
                d = tiny;
            }
            c = 1 + aa / c;
            if (Math.abs(c) < tiny) {
                c = tiny;
            }
            d = 1 / d;
            h *= d * c;
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
            d = 1 + aa * d;
            if (Math.abs(d) < tiny) {
                d = tiny;
            }
            c = 1 + aa / c;
            if (Math.abs(c) < tiny) {
                c = tiny;
            }
            d = 1 / d;
            double del = d * c;
            h *= del;
            if (Math.abs(del - 1) < eps) {
                return h;
            }
        }
        throw new IllegalStateException("incomplete beta continued fraction did not converge for x=" + x + " a=" + a
                + " b=" + b);
    }

    private static final double[] LANCZOS = {0.99999999999980993, 676.5203681218851, -1259.1392167224028,
        771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
        1.5056327351493116e-7};

    /** ln Γ(x) for x > 0 (Lanczos, g = 7, about 15 significant digits). */
    static double logGamma(double x) {
        if (x < 0.5) {
            // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
            return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
        }
        x -= 1;
        double sum = LANCZOS[0];
        for (int i = 1; i < LANCZOS.length; i++) {
            sum += LANCZOS[i] / (x + i);
        }
        double t = x + 7.5;
        return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum);
    }
}
