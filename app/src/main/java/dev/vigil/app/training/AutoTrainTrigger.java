package dev.vigil.app.training;

import java.util.function.Supplier;

/**
 * Starts a training run by itself after every {@code threshold} new labels (0 = never). Counts labels since the last
 * run it started or an admin started; a run already going is not doubled.
 */
public final class AutoTrainTrigger {
    private final java.util.function.IntSupplier threshold;
    private final Supplier<String> start;
    private int sinceLastRun;

    /** @param start starts a run and returns its id */
    public AutoTrainTrigger(int threshold, Supplier<String> start) {
        this(() -> threshold, start);
    }

    /** @param threshold read at every label, so a configuration change applies at once */
    public AutoTrainTrigger(java.util.function.IntSupplier threshold, Supplier<String> start) {
        this.threshold = threshold;
        this.start = start;
    }

    /** Called after each new label; returns the id of a run it started, or null. */
    public synchronized String labelled() {
        sinceLastRun++;
        int t = threshold.getAsInt();
        if (t <= 0 || sinceLastRun < t) {
            return null;
        }
        sinceLastRun = 0;
        return start.get();
    }

    /** An admin started a run: count from zero again. */
    public synchronized void runStarted() {
        sinceLastRun = 0;
    }

    /** Labels since the last run (shown on the page as "labelled since the last training"). */
    public synchronized int sinceLastRun() {
        return sinceLastRun;
    }
}
