package dev.vigil.trainer.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class OperatingPointTest {
    @Test
    void thresholdReachesTheTargetRecallAndSitsBetweenScores() {
        double[] defects = {0.95, 0.9, 0.8, 0.3};
        double[] oks = {0.1, 0.2, 0.35, 0.05};
        OperatingPoint op = OperatingPoint.choose(defects, oks, 1.0);
        assertEquals(0.25, op.defectThreshold(), 1e-12); // halfway between defect 0.3 and ok 0.2
        assertEquals(1.0, op.validationRecall());
        assertEquals(0.25, op.validationFalseRejectRate()); // the ok at 0.35 is rejected
        OperatingPoint relaxed = OperatingPoint.choose(defects, oks, 0.75);
        assertTrue(relaxed.defectThreshold() > 0.3 && relaxed.defectThreshold() <= 0.5);
        assertEquals(0.75, relaxed.validationRecall());
        assertEquals(0.0, relaxed.validationFalseRejectRate());
    }

    @Test
    void metricsCountDefectRecallAndFalseRejects() {
        List<String> labels = List.of("defect", "ok");
        int[] truth = {0, 0, 1, 1};
        float[][] p = {{0.9f, 0.1f}, {0.4f, 0.6f}, {0.2f, 0.8f}, {0.7f, 0.3f}};
        Metrics m = Metrics.of(labels, truth, p, 1, 0.35);
        assertEquals(0.5, m.accuracy());
        assertEquals(1.0, m.defectRecall()); // 0.6 >= 0.35 is rejected too
        assertEquals(0.5, m.falseRejectRate());
        assertEquals(1, m.confusion()[0][1]);
        assertEquals(2, m.perClass().get("ok").support());
    }

    @Test
    void thresholdCurveRunsFromNothingRejectedToEverythingRejected() {
        double[] defects = {0.95, 0.9, 0.8, 0.3};
        double[] oks = {0.05, 0.1, 0.35, 0.2};
        List<OperatingPoint.CurvePoint> c = OperatingPoint.curve(defects, oks);
        assertEquals(10, c.size(), "1, every distinct score, 0: " + c);
        assertEquals(new OperatingPoint.CurvePoint(1.0, 0.0, 0.0), c.get(0));
        assertEquals(new OperatingPoint.CurvePoint(0.8, 0.75, 0.0), c.get(3));
        assertEquals(new OperatingPoint.CurvePoint(0.3, 1.0, 0.25), c.get(5));
        assertEquals(new OperatingPoint.CurvePoint(0.0, 1.0, 1.0), c.get(c.size() - 1));
        for (int i = 1; i < c.size(); i++) {
            assertTrue(c.get(i).threshold() < c.get(i - 1).threshold());
            assertTrue(c.get(i).recall() >= c.get(i - 1).recall());
            assertTrue(c.get(i).falseRejectRate() >= c.get(i - 1).falseRejectRate());
        }
        double[] many = new java.util.Random(1).doubles(1000).toArray();
        List<OperatingPoint.CurvePoint> thin = OperatingPoint.curve(many, many);
        assertTrue(thin.size() <= OperatingPoint.CURVE_POINTS + 1, "thinned: " + thin.size());
        assertEquals(1.0, thin.get(thin.size() - 1).recall());
    }
}
