package dev.vigil.app.registry;

import dev.vigil.app.decision.DecisionPolicy;
import dev.vigil.app.decision.Verdict;
import dev.vigil.app.inference.LoadedModel;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A candidate model classifying live frames beside the active one: its verdicts are recorded, never acted on (no
 * alerts, no samples). The inference worker feeds it the batches the active model just decided, until {@code target}
 * frames are seen or the run is stopped; {@link #done()} completes then with the final figures.
 */
public final class ShadowRun {
    /** Ended because it saw its frames. */
    public static final String COMPLETE = "complete";

    /**
     * The figures of a shadow run.
     *
     * @param agreements frames where candidate and active model gave the same verdict (before consensus)
     * @param candidateMillisPerFrame the candidate's forward pass per frame, on this device, beside the active model
     * @param outcome null while running; {@value #COMPLETE}, or why it stopped early
     */
    public record Stats(String candidateId, String activeId, int target, int frames, int agreements,
            Map<String, Integer> candidateVerdicts, Map<String, Integer> activeVerdicts,
            double candidateMillisPerFrame, Instant startedAt, Instant endedAt, String outcome) {
        /** Share of frames with the same verdict; null before the first frame. */
        public Double agreement() {
            return frames == 0 ? null : agreements / (double) frames;
        }
    }

    private final LoadedModel candidate;
    private final DecisionPolicy policy;
    private final String activeId;
    private final int target;
    private final Instant startedAt = Instant.now();
    private final Map<String, Integer> candidateVerdicts = new LinkedHashMap<>();
    private final Map<String, Integer> activeVerdicts = new LinkedHashMap<>();
    private final CompletableFuture<Stats> done = new CompletableFuture<>();
    private int frames;
    private int agreements;
    private long candidateNanos;
    private Instant endedAt;
    private String outcome;
    private boolean closed;

    ShadowRun(LoadedModel candidate, DecisionPolicy policy, String activeId, int target) {
        this.candidate = candidate;
        this.policy = policy;
        this.activeId = activeId;
        this.target = target;
    }

    LoadedModel model() {
        return candidate;
    }

    DecisionPolicy policy() {
        return policy;
    }

    public String candidateId() {
        return candidate.id();
    }

    /** One frame: the active model's verdict and the candidate's, and the candidate's share of the forward pass. */
    synchronized void record(Verdict active, Verdict shadow, long candidateNanosPerFrame) {
        if (outcome != null) {
            return;
        }
        frames++;
        candidateNanos += candidateNanosPerFrame;
        if (active == shadow) {
            agreements++;
        }
        activeVerdicts.merge(active.id(), 1, Integer::sum);
        candidateVerdicts.merge(shadow.id(), 1, Integer::sum);
        if (frames >= target) {
            end(COMPLETE);
        }
    }

    /** Ends the run (idempotent); the model is closed by whoever swaps it out. */
    synchronized void end(String why) {
        if (outcome != null) {
            return;
        }
        outcome = why;
        endedAt = Instant.now();
        done.complete(stats());
    }

    /** Releases the candidate's model once (the run's figures stay). */
    synchronized void closeModel() {
        if (!closed) {
            closed = true;
            candidate.close();
        }
    }

    public synchronized boolean ended() {
        return outcome != null;
    }

    public synchronized Stats stats() {
        return new Stats(candidate.id(), activeId, target, frames, agreements, Map.copyOf(candidateVerdicts),
                Map.copyOf(activeVerdicts), frames == 0 ? 0 : candidateNanos / 1e6 / frames, startedAt, endedAt,
                outcome);
    }

    /** Completes with the final figures when the run ends, however it ends. */
    public CompletableFuture<Stats> done() {
        return done;
    }
}
