package dev.vigil.app.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AutoTrainTriggerTest {
    @Test
    void startsARunEveryNLabelsAndNeverWhenOff() {
        AtomicInteger runs = new AtomicInteger();
        AutoTrainTrigger t = new AutoTrainTrigger(3, () -> "job-" + runs.incrementAndGet());
        assertNull(t.labelled());
        assertNull(t.labelled());
        assertEquals("job-1", t.labelled());
        assertEquals(0, t.sinceLastRun());
        t.labelled();
        t.runStarted();
        assertEquals(0, t.sinceLastRun(), "an admin's run resets the count");
        t.labelled();
        t.labelled();
        assertEquals("job-2", t.labelled());
        AutoTrainTrigger off = new AutoTrainTrigger(0, () -> "never");
        for (int i = 0; i < 100; i++) {
            assertNull(off.labelled());
        }
        assertEquals(100, off.sinceLastRun());
    }
}
