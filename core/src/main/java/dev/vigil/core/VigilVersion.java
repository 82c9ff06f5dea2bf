package dev.vigil.core;

/** Vigil's version, as status messages and the graphs it writes report it. */
public final class VigilVersion {
    public static final String VALUE = "0.1.0";

    private VigilVersion() {}
}
