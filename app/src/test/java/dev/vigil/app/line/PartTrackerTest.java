package dev.vigil.app.line;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.vigil.app.decision.Decision;
import dev.vigil.app.decision.Verdict;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;

/** Parts from trigger to record, without a camera: the verdict or the deadline, whichever comes first, once. */
class PartTrackerTest {
    private final List<PartRecord> log = new CopyOnWriteArrayList<>();
    private final List<Long> triggered = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

    private PartTracker tracker(int deadlineMs, boolean cameraTakes) {
        return new PartTracker((camera, token) -> {
            triggered.add(token);
            return cameraTakes;
        }, log::add, new Lots(), () -> deadlineMs, scheduler, new SimpleMeterRegistry());
    }

    @Test
    void theVerdictCompletesThePartOnceAndALateOneChangesNothing() throws Exception {
        PartTracker t = tracker(200, true);
        assertEquals(1, t.trigger("cam1", "http", 0, null));
        long token = triggered.get(0);
        t.judged(token, "m1", new Decision(Verdict.OK, "ok", 0.9, 0.1, new float[] {0.1f, 0.9f}), null,
                PartTracker.Stored.NONE);
        t.judged(token, "m1", new Decision(Verdict.DEFECT, "crack", 0.9, 0.9, new float[] {0.9f, 0.1f}), null,
                PartTracker.Stored.NONE);
        Thread.sleep(400); // past the deadline: it was cancelled
        assertEquals(1, log.size(), log.toString());
        assertEquals("ok", log.get(0).verdict());
        assertEquals("ok", log.get(0).reported());
        assertNull(log.get(0).error());
        assertEquals(0, t.open());
    }

    @Test
    void withoutAVerdictThePartIsReportedNgLateAtTheDeadlineAndTheVerdictAfterItIsIgnored() throws Exception {
        PartTracker t = tracker(100, true);
        t.trigger("cam1", "plc", 77, null);
        Thread.sleep(400);
        t.judged(triggered.get(0), "m1", new Decision(Verdict.OK, "ok", 0.9, 0.1, new float[] {0.1f, 0.9f}), null,
                PartTracker.Stored.NONE);
        assertEquals(1, log.size(), log.toString());
        assertEquals("late", log.get(0).verdict());
        assertEquals("ng", log.get(0).reported());
        assertEquals(77, log.get(0).sequence());
        assertEquals(true, log.get(0).processingMs() >= 100);
    }

    @Test
    void aRefusedCaptureIsAnNgPartForThePlcAndNoPartForHttp() {
        PartTracker t = tracker(1000, false);
        assertEquals(-1, t.trigger("cam1", "http", 0, null));
        assertEquals(0, log.size());
        assertEquals(1, t.trigger("cam1", "plc", 0, null), "the PLC's part takes the camera's next number");
        assertEquals(1, log.size());
        assertEquals("none", log.get(0).verdict());
        assertEquals("capture", log.get(0).error());
        assertEquals("ng", log.get(0).reported());
    }

    @Test
    void numbersGoOnAfterTheNewestRecordedPart() {
        PartTracker t = tracker(1000, true);
        t.continueAfter("cam1", 41);
        assertEquals(42, t.trigger("cam1", "http", 0, null));
        assertEquals(1, t.trigger("cam2", "http", 0, null), "each camera its own numbers");
    }
}
