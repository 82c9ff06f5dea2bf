package dev.vigil.app.samples;

import dev.vigil.app.decision.Verdict;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * Which frames go to the labelling queue: defects and uncertain frames, a random audit share of ok frames, every
 * frame in collect mode — at most {@code perHour} per camera in any sliding hour, so a faulty line cannot fill the
 * disk. Thread-safe.
 */
public final class FlagPolicy {
    private double auditShare;
    private int perHour;
    private Map<String, Integer> perCamera = Map.of();
    private final Random random;
    private final Map<String, Deque<Instant>> recent = new HashMap<>();
    private long capped;

    public FlagPolicy(double auditShare, int perHour, long seed) {
        this.auditShare = auditShare;
        this.perHour = perHour;
        this.random = new Random(seed);
    }

    /**
     * New rates, effective at once (a configuration change): the audit share, the default cap per camera and hour,
     * and cameras' own caps. The last hour's flags still count against the new caps.
     */
    public synchronized void configure(double auditShare, int perHour, Map<String, Integer> perCamera) {
        this.auditShare = auditShare;
        this.perHour = perHour;
        this.perCamera = Map.copyOf(perCamera);
    }

    /** The reason to flag this frame, or null to let it go. */
    public synchronized String reason(String camera, Verdict verdict, Instant now) {
        String reason = switch (verdict) {
            case DEFECT -> "defect";
            case UNCERTAIN -> "uncertain";
            case UNCLASSIFIED -> "collect";
            case OK -> random.nextDouble() < auditShare ? "audit" : null;
        };
        if (reason == null) {
            return null;
        }
        Deque<Instant> q = recent.computeIfAbsent(camera, c -> new ArrayDeque<>());
        Instant hourAgo = now.minus(Duration.ofHours(1));
        while (!q.isEmpty() && q.peekFirst().isBefore(hourAgo)) {
            q.removeFirst();
        }
        if (q.size() >= perCamera.getOrDefault(camera, perHour)) {
            capped++;
            return null;
        }
        q.addLast(now);
        return reason;
    }

    /** Frames that would have been flagged but the hourly cap stopped. */
    public synchronized long capped() {
        return capped;
    }
}
