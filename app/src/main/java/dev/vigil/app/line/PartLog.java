package dev.vigil.app.line;

/** Where part records go (the traceability store); one call per reported part, from any thread. */
public interface PartLog {
    void record(PartRecord part);

    /** A log that keeps nothing (tests of the handshake alone). */
    PartLog NONE = part -> { };
}
