package dev.vigil.trainer.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.VigilException;
import org.junit.jupiter.api.Test;

class RecallBoundTest {
    @Test
    void tenOfTenCaughtProvesOnlyAboutSeventyFourPercent() {
        RecallBound b = RecallBound.of(10, 10);
        assertEquals(1.0, b.recall());
        assertEquals(Math.pow(0.05, 1.0 / 10), b.lower95(), 1e-12); // 0.7411: Beta(10, 1) has CDF p^10
        assertEquals(0.7411, b.lower95(), 1e-4);
    }

    @Test
    void nothingCaughtHasLowerBoundZero() {
        RecallBound b = RecallBound.of(0, 10);
        assertEquals(0.0, b.recall());
        assertEquals(0.0, b.lower95());
    }

    @Test
    void noDefectsGiveNaNRecallAndBound() {
        RecallBound b = RecallBound.of(0, 0);
        assertTrue(Double.isNaN(b.recall()));
        assertTrue(Double.isNaN(b.lower95()));
    }

    @Test
    void fortyFiveOfFiftyAgreesWithIntegratingTheBetaDensityAndWithTheBinomialTail() {
        RecallBound b = RecallBound.of(45, 50);
        assertEquals(0.9, b.recall());
        // scipy.stats.beta.ppf(0.05, 45, 6) = 0.8011669974835816
        assertEquals(0.8011669974835816, b.lower95(), 1e-9);
        // Independently: the Beta(45, 6) density integrated (Simpson) from 0 to the bound holds 5% of its mass ...
        assertEquals(0.05, betaMassBelow(b.lower95(), 45, 6), 1e-9);
        // ... and at that p, catching 45 or more of 50 has probability 5% (the Clopper-Pearson definition).
        assertEquals(0.05, binomialUpperTail(45, 50, b.lower95()), 1e-9);
    }

    @Test
    void boundsSolveTheClopperPearsonEquationAcrossCounts() {
        int[][] cases = {{1, 1}, {1, 10}, {5, 20}, {19, 20}, {99, 100}, {250, 300}, {300, 300}, {1, 1000}};
        for (int[] c : cases) {
            RecallBound b = RecallBound.of(c[0], c[1]);
            assertEquals(0.05, binomialUpperTail(c[0], c[1], b.lower95()), 1e-8, c[0] + "/" + c[1]);
            assertTrue(b.lower95() > 0 && b.lower95() < b.recall(), c[0] + "/" + c[1] + ": " + b);
        }
    }

    @Test
    void theBoundRisesWithEveryDefectCaught() {
        double previous = -1;
        for (int caught = 0; caught <= 40; caught++) {
            double lower = RecallBound.of(caught, 40).lower95();
            assertTrue(lower > previous, caught + "/40: " + lower + " after " + previous);
            previous = lower;
        }
    }

    @Test
    void defectsNeededAreTheClassicAllCaughtCounts() {
        assertEquals(59, RecallBound.defectsNeeded(0.95));
        assertEquals(299, RecallBound.defectsNeeded(0.99));
        assertEquals(29, RecallBound.defectsNeeded(0.90));
        assertEquals(1, RecallBound.defectsNeeded(0.01));
        for (double target : new double[] {0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995}) {
            int n = RecallBound.defectsNeeded(target);
            assertTrue(RecallBound.of(n, n).lower95() >= target, target + ": " + n);
            assertTrue(n == 1 || RecallBound.of(n - 1, n - 1).lower95() < target, target + ": " + (n - 1));
            assertTrue(Math.pow(0.05, 1.0 / n) >= target && Math.pow(0.05, 1.0 / (n - 1)) < target, target + "");
        }
    }

    @Test
    void aTargetOfOneCannotBeDemonstrated() {
        VigilException e = assertThrows(VigilException.class, () -> RecallBound.defectsNeeded(1.0));
        assertTrue(e.getMessage().contains("found 1.0") && e.getMessage().contains("0.99"), e.getMessage());
        assertThrows(VigilException.class, () -> RecallBound.defectsNeeded(0));
        assertThrows(VigilException.class, () -> RecallBound.defectsNeeded(Double.NaN));
    }

    @Test
    void moreCaughtThanSeenIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> RecallBound.of(11, 10));
        assertThrows(IllegalArgumentException.class, () -> RecallBound.of(-1, 10));
    }

    @Test
    void incompleteBetaMatchesClosedForms() {
        for (double x : new double[] {1e-6, 0.01, 0.3, 0.5, 0.77, 0.999}) {
            assertEquals(x, RecallBound.regularizedIncompleteBeta(x, 1, 1), 1e-13);
            assertEquals(Math.pow(x, 7), RecallBound.regularizedIncompleteBeta(x, 7, 1), 1e-13);
            assertEquals(1 - Math.pow(1 - x, 4), RecallBound.regularizedIncompleteBeta(x, 1, 4), 1e-13);
            assertEquals(1, RecallBound.regularizedIncompleteBeta(x, 3.5, 2)
                    + RecallBound.regularizedIncompleteBeta(1 - x, 2, 3.5), 1e-13);
        }
        assertEquals(Math.log(120), RecallBound.logGamma(6), 1e-13);
        assertEquals(0.5 * Math.log(Math.PI), RecallBound.logGamma(0.5), 1e-13);
    }

    /** P(X ≥ k) for X ~ Binomial(n, p), summed term by term. */
    private static double binomialUpperTail(int k, int n, double p) {
        double sum = 0;
        for (int j = k; j <= n; j++) {
            double logChoose = 0;
            for (int i = 1; i <= j; i++) {
                logChoose += Math.log(n - j + i) - Math.log(i);
            }
            sum += Math.exp(logChoose + j * Math.log(p) + (n - j) * Math.log1p(-p));
        }
        return sum;
    }

    /** ∫₀ˣ t^(a−1) (1−t)^(b−1) dt / ∫₀¹ (same), by Simpson's rule; no gamma function involved. */
    private static double betaMassBelow(double x, int a, int b) {
        return simpson(0, x, a, b) / simpson(0, 1, a, b);
    }

    private static double simpson(double from, double to, int a, int b) {
        int n = 20_000;
        double h = (to - from) / n;
        double s = 0;
        for (int i = 0; i <= n; i++) {
            double t = from + i * h;
            double f = Math.pow(t, a - 1) * Math.pow(1 - t, b - 1);
            s += (i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2) * f;
        }
        return s * h / 3;
    }
}
