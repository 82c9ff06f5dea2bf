package dev.vigil.app.line;

import dev.vigil.app.decision.Decision;
import dev.vigil.app.decision.Verdict;
import dev.vigil.app.mqtt.Region;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.IntSupplier;

/**
 * Parts from trigger to result. A trigger (from the PLC, MQTT or HTTP) becomes a part with a token the camera stamps
 * on the frame it takes; the verdict on that frame completes the part. Whichever comes first wins: the verdict, or
 * the deadline ({@code plc.deadlineMs}), after which the part is reported NG with error {@code late} — a part is never
 * passed unseen. Every part is reported exactly once: to whoever triggered it (the PLC station writes its result
 * signals) and to the {@link PartLog}.
 */
public final class PartTracker {
    private static final System.Logger LOG = System.getLogger(PartTracker.class.getName());

    /** Takes one frame of a camera for a part: the camera's own answer (false = refused). */
    public interface Capture {
        boolean trigger(String camera, long token);
    }

    /** A part waiting for its verdict. */
    private record Part(long token, String camera, long sequence, String lot, String trigger, long startNanos,
            Consumer<PartRecord> onReported, AtomicBoolean done, ScheduledFuture<?>[] deadline) {}

    /** The stored sample behind a verdict (null fields when the frame was not stored). */
    public record Stored(String sampleId, Path image) {
        public static final Stored NONE = new Stored(null, null);
    }

    private final Capture capture;
    private final PartLog log;
    private final Lots lots;
    private final IntSupplier deadlineMs;
    private final ScheduledExecutorService scheduler;
    private final MeterRegistry metrics;
    private final AtomicLong tokens = new AtomicLong();
    private final Map<Long, Part> open = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> sequences = new ConcurrentHashMap<>();

    public PartTracker(Capture capture, PartLog log, Lots lots, IntSupplier deadlineMs,
            ScheduledExecutorService scheduler, MeterRegistry metrics) {
        this.capture = capture;
        this.log = log;
        this.lots = lots;
        this.deadlineMs = deadlineMs;
        this.scheduler = scheduler;
        this.metrics = metrics;
    }

    /**
     * Triggers one part of {@code camera}.
     *
     * @param trigger who asks: {@code plc}, {@code mqtt} or {@code http}
     * @param sequence the part's number given by the PLC; 0 = this camera's next own number
     * @param onReported told the part's record once it is reported (null = nobody but the log)
     * @return the part's number, or -1 when the camera refused the trigger (no such camera, continuous, not connected
     *     or too many triggers waiting); a refused PLC trigger is still a part, reported NG with error
     *     {@code capture}, since the PLC counts it as one
     */
    public long trigger(String camera, String trigger, long sequence, Consumer<PartRecord> onReported) {
        long token = tokens.incrementAndGet();
        long seq = sequence > 0 ? sequence : sequences.computeIfAbsent(camera, c -> new AtomicLong()).incrementAndGet();
        Part p = new Part(token, camera, seq, lots.of(camera), trigger, System.nanoTime(), onReported,
                new AtomicBoolean(), new ScheduledFuture<?>[1]);
        open.put(token, p);
        synchronized (p.deadline()) {
            p.deadline()[0] = scheduler.schedule(() -> late(p), deadlineMs.getAsInt(), TimeUnit.MILLISECONDS);
        }
        if (!capture.trigger(camera, token)) {
            if (!"plc".equals(trigger)) {
                open.remove(token);
                cancel(p);
                if (sequence <= 0) { // not a part: its number goes back (unless another trigger took the next one)
                    sequences.get(camera).compareAndSet(seq, seq - 1);
                }
                return -1;
            }
            complete(p, null, "none", null, null, null, Stored.NONE, "capture");
            return seq;
        }
        return seq;
    }

    /**
     * The verdict on a frame: completes the part whose token the frame carries (nothing for a frame without one, or
     * whose part was already reported late).
     *
     * @param decision null in collect mode (no model)
     */
    public void judged(long token, String modelId, Decision decision, Region region, Stored stored) {
        if (token == 0) {
            return;
        }
        Part p = open.get(token);
        if (p == null) {
            metrics.counter("vigil.parts.verdict.after.deadline").increment();
            return;
        }
        if (decision == null) {
            complete(p, null, Verdict.UNCLASSIFIED.id(), null, null, null, stored, "no-model");
        } else {
            complete(p, modelId, decision.verdict().id(), decision.label(), decision.defectScore(), region, stored,
                    null);
        }
    }

    /**
     * Continues {@code camera}'s own part numbers after {@code last} (the newest recorded part at start), so that a
     * restart does not number parts from 1 again.
     */
    public void continueAfter(String camera, long last) {
        sequences.computeIfAbsent(camera, c -> new AtomicLong()).accumulateAndGet(last, Math::max);
    }

    /** Parts waiting for a verdict now. */
    public int open() {
        return open.size();
    }

    private void late(Part p) {
        if (complete(p, null, "late", null, null, null, Stored.NONE, "late")) {
            metrics.counter("vigil.parts.late", "camera", p.camera()).increment();
            LOG.log(System.Logger.Level.WARNING, "camera " + p.camera() + ": part " + p.sequence() + " had no verdict"
                    + " within plc.deadlineMs (" + deadlineMs.getAsInt() + " ms); reported NG (late)");
        }
    }

    private boolean complete(Part p, String modelId, String verdict, String label, Double score, Region region,
            Stored stored, String error) {
        if (!p.done().compareAndSet(false, true)) {
            return false;
        }
        open.remove(p.token());
        cancel(p);
        long ms = (System.nanoTime() - p.startNanos()) / 1_000_000;
        PartRecord r = new PartRecord(Instant.now(), p.camera(), p.sequence(), p.lot(), p.trigger(), modelId, verdict,
                Verdict.OK.id().equals(verdict) ? "ok" : "ng", label, score, region, sha256(stored.image()),
                stored.sampleId(), error, ms);
        if (p.onReported() != null) {
            try {
                p.onReported().accept(r);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "reporting part " + p.sequence() + " of " + p.camera() + ": "
                        + e.getMessage(), e);
            }
        }
        try {
            log.record(r);
        } catch (RuntimeException e) {
            metrics.counter("vigil.parts.unrecorded").increment();
            LOG.log(System.Logger.Level.ERROR, "could not record part " + p.sequence() + " of " + p.camera() + ": "
                    + e.getMessage());
        }
        metrics.counter("vigil.parts", "camera", p.camera(), "reported", r.reported()).increment();
        return true;
    }

    private static void cancel(Part p) {
        synchronized (p.deadline()) {
            if (p.deadline()[0] != null) {
                p.deadline()[0].cancel(false);
            }
        }
    }

    private static String sha256(Path image) {
        if (image == null || !Files.isRegularFile(image)) {
            return null;
        }
        try {
            return dev.vigil.core.Hashing.sha256(image);
        } catch (java.io.IOException e) {
            return null;
        }
    }
}
