package dev.vigil.trainer.combined;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ScoreCombinationTest {

    /** n images, a share of them defects; each score separates them by {@code gapSup} / {@code gapAnom} SDs. */
    private static double[][] scores(int n, int defects, double gapSup, double gapAnom, boolean[] y, long seed) {
        Random r = new Random(seed);
        double[] l = new double[n];
        double[] z = new double[n];
        for (int i = 0; i < n; i++) {
            y[i] = i < defects;
            l[i] = r.nextGaussian() + (y[i] ? gapSup : 0);
            z[i] = r.nextGaussian() + (y[i] ? gapAnom : 0);
        }
        return new double[][] {l, z};
    }

    @Test
    void theScoreThatSeparatesTheDefectsGetsTheWeight() {
        boolean[] y = new boolean[400];
        double[][] s = scores(400, 60, 0.2, 3.0, y, 1);
        ScoreCombination c = ScoreCombination.fit(s[0], s[1], y);
        assertEquals("logistic", c.method());
        assertTrue(c.anomalyWeight() > 5 * Math.abs(c.supervisedWeight()), c.toString());
        boolean[] y2 = new boolean[400];
        double[][] s2 = scores(400, 60, 3.0, 0.2, y2, 2);
        ScoreCombination c2 = ScoreCombination.fit(s2[0], s2[1], y2);
        assertTrue(c2.supervisedWeight() > 5 * Math.abs(c2.anomalyWeight()), c2.toString());
    }

    @Test
    void aScoreThatCountsAgainstDefectsIsDroppedNotInverted() {
        boolean[] y = new boolean[400];
        double[][] s = scores(400, 60, 2.0, -2.0, y, 3);
        ScoreCombination c = ScoreCombination.fit(s[0], s[1], y);
        assertEquals(0.0, c.anomalyWeight());
        assertTrue(c.supervisedWeight() > 0);
    }

    @Test
    void perfectlySeparatedScoresKeepFiniteWeights() {
        boolean[] y = new boolean[100];
        double[] l = new double[100];
        double[] z = new double[100];
        for (int i = 0; i < 100; i++) {
            y[i] = i < 30;
            l[i] = y[i] ? 5 : -5;
            z[i] = y[i] ? 3 : -1;
        }
        ScoreCombination c = ScoreCombination.fit(l, z, y);
        assertTrue(Double.isFinite(c.bias()) && c.supervisedWeight() < 100 && c.anomalyWeight() < 100, c.toString());
        for (int i = 0; i < 100; i++) {
            assertEquals(y[i], c.regression(l[i], z[i]) >= 0.5);
        }
    }

    @Test
    void tooFewDefectsUseTheSupervisedScoreAsItIs() {
        boolean[] y = new boolean[200];
        double[][] s = scores(200, ScoreCombination.MIN_EACH - 1, 2, 2, y, 4);
        ScoreCombination c = ScoreCombination.fit(s[0], s[1], y);
        assertEquals("supervised", c.method());
        assertEquals(0.8, c.regression(ScoreCombination.logit(0.8), 7.0), 1e-12);
    }

    @Test
    void theGuardRejectsWheneverTheAnomalyLogitReachesZero() {
        ScoreCombination c = new ScoreCombination(-3, 2, 0.1, "logistic");
        double threshold = 0.2;
        double confidentOk = -12; // the supervised head is sure the part is good
        assertTrue(c.regression(confidentOk, 0.5) < threshold);
        assertTrue(c.probability(confidentOk, 0.0, threshold) >= threshold);
        assertTrue(c.probability(confidentOk, 0.5, threshold) >= threshold);
        assertTrue(c.probability(confidentOk, -0.01, threshold) < threshold);
        // and the regression still rejects on its own
        assertTrue(c.probability(5, -10, threshold) >= threshold);
    }

    @Test
    void classProbabilitiesSumToOneAndKeepTheDefectProbability() {
        float[] sup = {0.1f, 0.7f, 0.2f}; // ok is index 1
        float[] p = CombinedTrainer.classProbabilities(sup, 1, 0.6f);
        assertEquals(4, p.length);
        assertEquals(1.0, p[0] + p[1] + p[2] + p[3], 1e-6);
        assertEquals(0.6, 1 - p[1], 1e-6);
        assertEquals(0.6 * 0.7, p[3], 1e-6); // the share of the defect the supervised head calls good
    }

    @Test
    void theSupervisedLogitIsClampedLikeTheGraph() {
        assertEquals(Math.log(0.25 / 0.75), ScoreCombination.supervisedLogit(0.75f), 1e-6);
        assertTrue(Double.isFinite(ScoreCombination.supervisedLogit(1f)));
        assertTrue(Double.isFinite(ScoreCombination.supervisedLogit(0f)));
    }
}
