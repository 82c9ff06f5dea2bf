package dev.vigil.app.decision;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class DecisionPolicyTest {
    private final List<String> labels = List.of("defective", "ok");

    @Test
    void defectAtOrAboveTheThresholdOkWellBelowUncertainNearIt() {
        DecisionPolicy p = new DecisionPolicy(labels, 1, 0.2, 1.0);
        assertEquals(Verdict.DEFECT, p.decide(new float[] {0.9f, 0.1f}).verdict());
        assertEquals(Verdict.OK, p.decide(new float[] {0.01f, 0.99f}).verdict());
        // logit(0.3) - logit(0.2) = 0.54 < 1: too close to call
        assertEquals(Verdict.UNCERTAIN, p.decide(new float[] {0.3f, 0.7f}).verdict());
        assertEquals(Verdict.UNCERTAIN, p.decide(new float[] {0.12f, 0.88f}).verdict());
    }

    @Test
    void theBandIsInLogOddsSoALowThresholdKeepsAUsefulOkRange() {
        DecisionPolicy p = new DecisionPolicy(labels, 1, 0.02, 1.0);
        assertEquals(Verdict.OK, p.decide(new float[] {0.005f, 0.995f}).verdict());
        assertEquals(Verdict.UNCERTAIN, p.decide(new float[] {0.03f, 0.97f}).verdict());
        assertEquals(Verdict.DEFECT, p.decide(new float[] {0.2f, 0.8f}).verdict());
    }

    @Test
    void aDefectIsLabelledWithTheMostLikelyDefectClass() {
        DecisionPolicy p = new DecisionPolicy(List.of("crack", "ok", "spot"), 1, 0.5, 0.5);
        Decision d = p.decide(new float[] {0.2f, 0.1f, 0.7f});
        assertEquals(Verdict.DEFECT, d.verdict());
        assertEquals("spot", d.label());
        assertEquals(0.9, d.defectScore(), 1e-6);
        Decision ok = p.decide(new float[] {0.01f, 0.98f, 0.01f});
        assertEquals("ok", ok.label());
    }

    @Test
    void withoutAnOkClassEveryFrameIsADefectOfItsTopClassUncertainWhenUnsure() {
        DecisionPolicy p = new DecisionPolicy(List.of("crazing", "patches", "scratches"), -1, 0.5, 1.0);
        assertEquals(Verdict.DEFECT, p.decide(new float[] {0.05f, 0.9f, 0.05f}).verdict());
        assertEquals(Verdict.UNCERTAIN, p.decide(new float[] {0.4f, 0.35f, 0.25f}).verdict());
    }

    @Test
    void consensusTakesTheMajorityOfTheLastFrames() {
        Consensus c = new Consensus(3);
        assertEquals(Verdict.DEFECT, c.add(Verdict.DEFECT));
        assertEquals(Verdict.UNCERTAIN, c.add(Verdict.OK));
        assertEquals(Verdict.OK, c.add(Verdict.OK));
        assertEquals(Verdict.OK, c.add(Verdict.DEFECT));
        assertEquals(Verdict.DEFECT, c.add(Verdict.DEFECT));
    }
}
