package dev.vigil.app.decision;

import java.util.Locale;

/** What the service concludes about one frame. */
public enum Verdict {
    OK,
    DEFECT,
    UNCERTAIN,
    /** No model yet (collect mode): the frame is only a candidate for labelling. */
    UNCLASSIFIED;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
