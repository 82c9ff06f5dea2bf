package dev.vigil.app.mqtt;

import dev.vigil.app.testing.Await;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The delivery state machine with a scripted transport: order, acknowledgements, rewinds, quota. */
class AlertOutboxTest {
    @TempDir
    Path dir;

    /** What the outbox sent, and the means to answer it. */
    static final class Wire implements AlertOutbox.Transport {
        record Sent(String payload, long seq, long generation) {}

        final List<Sent> sent = new CopyOnWriteArrayList<>();
        volatile boolean refuseHandOver;

        @Override
        public void send(String topic, byte[] payload, long seq, long generation) throws Exception {
            if (refuseHandOver) {
                throw new IllegalStateException("not connected");
            }
            sent.add(new Sent(new String(payload, StandardCharsets.UTF_8), seq, generation));
        }

        List<String> payloads() {
            return sent.stream().map(Sent::payload).toList();
        }
    }

    private static byte[] alert(int i) {
        return ("a" + i).getBytes(StandardCharsets.UTF_8);
    }

    private static void await(BooleanSupplier condition, String what) {
        Await.await(condition, Duration.ofSeconds(5), what);
    }

    @Test
    void sendsInOrderWithABoundedWindowAndCountsAcknowledgements() {
        Wire wire = new Wire();
        AlertOutbox box = new AlertOutbox(AlertJournal.open(dir), 100, "test", wire);
        box.start();
        for (int i = 0; i < 20; i++) {
            assertTrue(box.offer("t", alert(i)));
        }
        box.connectionUp();
        await(() -> wire.sent.size() == AlertOutbox.WINDOW, "a full window");
        assertEquals(AlertOutbox.WINDOW, wire.sent.size(), "no more than the window in flight");
        // acknowledge out of order: only the contiguous prefix counts as delivered
        Wire.Sent second = wire.sent.get(1);
        box.delivered(second.seq(), second.generation());
        await(() -> wire.sent.size() == AlertOutbox.WINDOW + 1, "one more after an acknowledgement");
        assertEquals(0, box.delivered());
        Wire.Sent first = wire.sent.get(0);
        box.delivered(first.seq(), first.generation());
        await(() -> box.delivered() == 2, "the prefix delivered");
        for (int i = 2; i < 20; i++) {
            int n = i;
            await(() -> wire.sent.size() > n, "alert " + n + " sent");
            Wire.Sent s = wire.sent.get(n);
            box.delivered(s.seq(), s.generation());
        }
        await(() -> box.delivered() == 20, "everything delivered");
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            expected.add("a" + i);
        }
        assertEquals(expected, wire.payloads());
        assertEquals(0, box.depth());
        box.close();
    }

    @Test
    void aLostConnectionResendsFromTheOldestUnacknowledged() {
        Wire wire = new Wire();
        AlertOutbox box = new AlertOutbox(AlertJournal.open(dir), 100, "test", wire);
        box.start();
        box.connectionUp();
        for (int i = 0; i < 5; i++) {
            box.offer("t", alert(i));
        }
        await(() -> wire.sent.size() == 5, "5 sent");
        box.delivered(wire.sent.get(0).seq(), wire.sent.get(0).generation());
        box.delivered(wire.sent.get(1).seq(), wire.sent.get(1).generation());
        await(() -> box.delivered() == 2, "2 delivered");
        box.connectionDown();
        wire.refuseHandOver = true;
        box.offer("t", alert(5));
        box.connectionUp();
        wire.refuseHandOver = false; // the next attempt (after a short pause) goes through
        await(() -> wire.sent.size() == 9, "a2..a5 sent again");
        assertEquals(List.of("a0", "a1", "a2", "a3", "a4", "a2", "a3", "a4", "a5"), wire.payloads());
        // a late acknowledgement from the old connection still counts
        box.delivered(wire.sent.get(2).seq(), wire.sent.get(2).generation());
        await(() -> box.delivered() == 3, "late acknowledgement");
        box.close();
    }

    @Test
    void aRefusalPausesAndStartsOverFromTheOldest() {
        Wire wire = new Wire();
        AlertOutbox box = new AlertOutbox(AlertJournal.open(dir), 100, "test", wire);
        box.start();
        box.connectionUp();
        box.offer("t", alert(0));
        box.offer("t", alert(1));
        await(() -> wire.sent.size() == 2, "2 sent");
        box.failed(wire.sent.get(0).seq(), wire.sent.get(0).generation(), new AlertOutbox.Refused("0x87"));
        await(() -> wire.sent.size() == 4, "both again after the pause");
        assertEquals(List.of("a0", "a1", "a0", "a1"), wire.payloads());
        box.close();
    }

    @Test
    void theQuotaCountsOverflowAndNeverBlocks() {
        Wire wire = new Wire();
        AlertOutbox box = new AlertOutbox(AlertJournal.open(dir), 5, "test", wire);
        box.start();
        long t0 = System.nanoTime();
        int accepted = 0;
        for (int i = 0; i < 8; i++) {
            accepted += box.offer("t", alert(i)) ? 1 : 0;
        }
        assertTrue(System.nanoTime() - t0 < Duration.ofMillis(500).toNanos(), "offer does not wait");
        assertEquals(5, accepted);
        assertEquals(5, box.depth());
        assertEquals(3, box.overflow());
        box.close();
        // what was accepted is on disk for the next start
        AlertOutbox again = new AlertOutbox(AlertJournal.open(dir), 5, "test", wire);
        assertEquals(5, again.depth());
        assertFalse(again.offer("t", alert(9)), "still full");
        again.close();
    }
}
