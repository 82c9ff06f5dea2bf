package dev.vigil.trainer.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class AurocTest {
    @Test
    void everyDefectAboveEveryGoodPartGivesOne() {
        assertEquals(1.0, Auroc.of(new double[] {0.9, 0.8, 0.7}, new double[] {0.1, 0.2, 0.69}));
    }

    @Test
    void everyDefectBelowEveryGoodPartGivesZero() {
        assertEquals(0.0, Auroc.of(new double[] {0.1, 0.2}, new double[] {0.9, 0.8, 0.7}));
    }

    @Test
    void allScoresTiedGiveOneHalf() {
        assertEquals(0.5, Auroc.of(new double[] {0.3, 0.3, 0.3}, new double[] {0.3, 0.3}));
    }

    @Test
    void aSmallCaseMatchesTheCountOfPairsByHand() {
        // pairs (defect, ok): 0.8 beats all 3; 0.6 beats all 3; 0.4 loses to 0.5, ties 0.4, beats 0.1 -> 1.5
        double auc = Auroc.of(new double[] {0.8, 0.4, 0.6}, new double[] {0.5, 0.4, 0.1});
        assertEquals(7.5 / 9, auc, 1e-15);
    }

    @Test
    void ranksAgreeWithComparingEveryPairOnRandomScoresWithTies() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 50; trial++) {
            double[] pos = new double[1 + rnd.nextInt(40)];
            double[] neg = new double[1 + rnd.nextInt(40)];
            for (int i = 0; i < pos.length; i++) {
                pos[i] = rnd.nextInt(10) / 10.0 + 0.05; // few distinct values: many ties
            }
            for (int i = 0; i < neg.length; i++) {
                neg[i] = rnd.nextInt(10) / 10.0;
            }
            double wins = 0;
            for (double p : pos) {
                for (double n : neg) {
                    wins += p > n ? 1 : p == n ? 0.5 : 0;
                }
            }
            assertEquals(wins / (pos.length * (double) neg.length), Auroc.of(pos, neg), 1e-12, "trial " + trial);
        }
    }

    @Test
    void noDefectsOrNoGoodPartsGivesNaN() {
        assertTrue(Double.isNaN(Auroc.of(new double[0], new double[] {0.1})));
        assertTrue(Double.isNaN(Auroc.of(new double[] {0.1}, new double[0])));
    }

    @Test
    void aNaNScoreIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> Auroc.of(new double[] {Double.NaN}, new double[] {0.1}));
    }
}
