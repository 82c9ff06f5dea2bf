package dev.vigil.app.decision;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Majority verdict over the last N frames of one camera (N = 1: every frame alone). Ties and mixed windows without
 * a majority are {@code uncertain}. Not thread-safe: one per camera, used by the inference worker.
 */
public final class Consensus {
    private final int window;
    private final Deque<Verdict> recent = new ArrayDeque<>();

    public Consensus(int window) {
        this.window = Math.max(1, window);
    }

    public Verdict add(Verdict v) {
        if (window == 1) {
            return v;
        }
        recent.addLast(v);
        while (recent.size() > window) {
            recent.removeFirst();
        }
        int defect = 0;
        int ok = 0;
        for (Verdict r : recent) {
            defect += r == Verdict.DEFECT ? 1 : 0;
            ok += r == Verdict.OK ? 1 : 0;
        }
        int need = recent.size() / 2 + 1;
        return defect >= need ? Verdict.DEFECT : ok >= need ? Verdict.OK : Verdict.UNCERTAIN;
    }
}
