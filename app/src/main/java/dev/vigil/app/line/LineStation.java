package dev.vigil.app.line;

import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * One camera's PLC handshake (docs/plc.md), whatever the protocol: the Modbus and OPC UA servers are two views of
 * these signals. The PLC raises Trigger while Ready; the station goes Busy and triggers one part; when the part is
 * reported (verdict, or NG late at the deadline) it writes OK/NG, class, score, part number and error code and raises
 * ResultReady; the PLC reads them and raises ResultAck, and the station is Ready again. A PLC that never acknowledges
 * is timed out ({@code plc.ackTimeoutMs}: error code 3) and the next trigger is served. Inputs act on their rising
 * edge; the PLC lowers them again itself.
 */
public final class LineStation {
    /** Error codes (the error-code signal). */
    public static final int ERROR_NONE = 0;
    public static final int ERROR_BUSY = 1;
    public static final int ERROR_LATE = 2;
    public static final int ERROR_ACK_TIMEOUT = 3;
    public static final int ERROR_CAPTURE = 4;
    public static final int ERROR_NO_MODEL = 5;
    /** The score signal as an integer: the defect score times this (0..10000). */
    public static final int SCORE_SCALE = 10_000;
    /** The class-index signal when there is no class. */
    public static final int NO_CLASS = 0xFFFF;

    /** How a write from the PLC was taken. */
    public enum Answer {
        /** Taken. */
        OK,
        /** A trigger while the station is not ready (busy or a result not yet acknowledged). */
        BUSY
    }

    /**
     * A consistent view of every signal, for one read.
     *
     * @param classIndex index into the model's labels, or {@link #NO_CLASS}
     * @param score defect score times {@link #SCORE_SCALE}
     */
    public record Signals(boolean trigger, boolean resultAck, boolean resetCounters, boolean ready, boolean busy,
            boolean resultReady, boolean ok, boolean ng, boolean error, boolean heartbeat, int classIndex,
            String classLabel, int score, long partSequence, int errorCode, long nextSequence, Counters counters) {
        /** The status bits as one word: bit 0 ready, 1 busy, 2 result-ready, 3 ok, 4 ng, 5 error, 6 heartbeat. */
        public int statusWord() {
            return (ready ? 1 : 0) | (busy ? 2 : 0) | (resultReady ? 4 : 0) | (ok ? 8 : 0) | (ng ? 16 : 0)
                    | (error ? 32 : 0) | (heartbeat ? 64 : 0);
        }
    }

    /** Counters the PLC reads and resets; times are trigger to result-ready, milliseconds. */
    public record Counters(long triggers, long ok, long ng, long errors, long deadlineMisses, long minMs, long avgMs,
            long maxMs) {}

    private final String camera;
    private final PartTracker parts;
    private final Supplier<List<String>> labels;
    private final IntSupplier ackTimeoutMs;
    private final ScheduledExecutorService scheduler;

    private boolean trigger;
    private boolean resultAck;
    private boolean resetCounters;
    private boolean busy;
    private boolean resultReady;
    private boolean ok;
    private boolean ng;
    private boolean heartbeat;
    private int classIndex = NO_CLASS;
    private String classLabel = "";
    private int score;
    private long partSequence;
    private int errorCode;
    private long nextSequence;
    private long triggers;
    private long okCount;
    private long ngCount;
    private long errors;
    private long deadlineMisses;
    private long minMs;
    private long maxMs;
    private long sumMs;
    private long timed;
    private ScheduledFuture<?> ackTimer;

    /**
     * @param labels the serving model's labels (the class index is a position in them); empty without a model
     */
    public LineStation(String camera, PartTracker parts, Supplier<List<String>> labels, IntSupplier ackTimeoutMs,
            ScheduledExecutorService scheduler) {
        this.camera = camera;
        this.parts = parts;
        this.labels = labels;
        this.ackTimeoutMs = ackTimeoutMs;
        this.scheduler = scheduler;
    }

    public String camera() {
        return camera;
    }

    /** Every signal, read at once. */
    public synchronized Signals signals() {
        return new Signals(trigger, resultAck, resetCounters, ready(), busy, resultReady, ok, ng,
                errorCode != ERROR_NONE, heartbeat, classIndex, classLabel, score, partSequence, errorCode,
                nextSequence, counters());
    }

    private boolean ready() {
        return !busy && !resultReady;
    }

    private Counters counters() {
        return new Counters(triggers, okCount, ngCount, errors, deadlineMisses, minMs, timed == 0 ? 0 : sumMs / timed,
                maxMs);
    }

    /** The PLC writes Trigger: a rising edge while ready triggers one part; while not ready it is refused. */
    public Answer writeTrigger(boolean value) {
        long seq;
        synchronized (this) {
            boolean rising = value && !trigger;
            if (rising && !ready()) {
                errors++;
                return Answer.BUSY;
            }
            trigger = value;
            if (!rising) {
                return Answer.OK;
            }
            busy = true;
            ok = false;
            ng = false;
            errorCode = ERROR_NONE;
            classIndex = NO_CLASS;
            classLabel = "";
            score = 0;
            triggers++;
            seq = nextSequence;
            nextSequence = 0;
        }
        // outside the lock: the tracker may report at once (a refused capture), which takes it again
        parts.trigger(camera, "plc", seq, this::reported);
        return Answer.OK;
    }

    /** The PLC writes ResultAck: a rising edge while a result is ready takes it back, and the station is ready. */
    public synchronized Answer writeResultAck(boolean value) {
        boolean rising = value && !resultAck;
        resultAck = value;
        if (rising && resultReady) {
            resultReady = false;
            if (ackTimer != null) {
                ackTimer.cancel(false);
                ackTimer = null;
            }
        }
        return Answer.OK;
    }

    /** The PLC writes ResetCounters: a rising edge zeroes the counters. */
    public synchronized Answer writeResetCounters(boolean value) {
        if (value && !resetCounters) {
            triggers = 0;
            okCount = 0;
            ngCount = 0;
            errors = 0;
            deadlineMisses = 0;
            minMs = 0;
            maxMs = 0;
            sumMs = 0;
            timed = 0;
        }
        resetCounters = value;
        return Answer.OK;
    }

    /** The PLC's number for the next part (0 = the camera's own count). */
    public synchronized void writeNextSequence(long sequence) {
        nextSequence = sequence;
    }

    /** Flips the heartbeat (once a second). */
    public synchronized void beat() {
        heartbeat = !heartbeat;
    }

    /** A part this station triggered was reported: write the result and raise ResultReady. */
    private synchronized void reported(PartRecord r) {
        busy = false;
        resultReady = true;
        ok = r.reported().equals("ok");
        ng = !ok;
        partSequence = r.sequence();
        score = r.score() == null ? 0 : (int) Math.round(Math.max(0, Math.min(1, r.score())) * SCORE_SCALE);
        List<String> l = labels.get();
        int idx = r.label() == null || l == null ? -1 : l.indexOf(r.label());
        classIndex = idx < 0 ? NO_CLASS : idx;
        classLabel = r.label() == null ? "" : r.label();
        errorCode = r.error() == null ? ERROR_NONE : switch (r.error()) {
            case "late" -> ERROR_LATE;
            case "capture" -> ERROR_CAPTURE;
            case "no-model" -> ERROR_NO_MODEL;
            default -> ERROR_CAPTURE;
        };
        if (ok) {
            okCount++;
        } else {
            ngCount++;
        }
        if (errorCode == ERROR_LATE) {
            deadlineMisses++;
        }
        if (errorCode != ERROR_NONE) {
            errors++;
        }
        long ms = r.processingMs();
        minMs = timed == 0 ? ms : Math.min(minMs, ms);
        maxMs = Math.max(maxMs, ms);
        sumMs += ms;
        timed++;
        int timeout = ackTimeoutMs.getAsInt();
        ackTimer = scheduler.schedule(this::ackTimedOut, timeout, TimeUnit.MILLISECONDS);
    }

    private synchronized void ackTimedOut() {
        if (!resultReady) {
            return;
        }
        resultReady = false;
        errorCode = ERROR_ACK_TIMEOUT;
        errors++;
        ackTimer = null;
        System.getLogger(LineStation.class.getName()).log(System.Logger.Level.WARNING, "camera " + camera + ": the PLC"
                + " did not acknowledge part " + partSequence + " within plc.ackTimeoutMs (" + ackTimeoutMs.getAsInt()
                + " ms); result withdrawn, error code 3, ready for the next trigger");
    }
}
