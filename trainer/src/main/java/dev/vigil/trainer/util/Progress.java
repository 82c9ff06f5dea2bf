package dev.vigil.trainer.util;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress bar for long steps. On a terminal it redraws one line; in a log (no console) it prints a line every
 * tenth of the way, so journald and CI logs stay readable.
 */
public final class Progress implements AutoCloseable {
    /**
     * When set ({@code vigil train --progress json}, as on-device training runs it), progress is printed as one JSON
     * object a line — {@code {"progress": step, "done", "total", "percent", "seconds", "status"}} — for the process
     * that reads it, instead of text for a person.
     */
    private static volatile boolean json;

    /**
     * Applies {@code --progress text|json} for {@code command}: JSON lines for a service that runs the command as a
     * child process, which must then not outlive that service (killed, power cut, restarted).
     */
    public static void mode(String progress, String command) {
        if (!progress.equals("text") && !progress.equals("json")) {
            throw new dev.vigil.core.VigilException("--progress must be text or json, found '" + progress + "'");
        }
        jsonLines(progress.equals("json"));
        if (progress.equals("json")) {
            ProcessHandle.current().parent().ifPresent(parent -> parent.onExit().thenRun(() -> {
                System.err.println("vigil " + command + ": the process that started this run is gone; stopping");
                Runtime.getRuntime().halt(143);
            }));
        }
    }

    public static void jsonLines(boolean on) {
        json = on;
    }

    private final PrintStream out;
    private final String label;
    private final long total;
    private final boolean tty;
    private final long start = System.nanoTime();
    private long done;
    private int lastDecile = -1;
    private String suffix = "";

    public Progress(PrintStream out, String label, long total) {
        this.out = out;
        this.label = label;
        this.total = Math.max(total, 1);
        this.tty = !json && System.console() != null && out == System.err;
    }

    /** A progress bar that prints nothing. */
    public static Progress silent() {
        return new Progress(new PrintStream(java.io.OutputStream.nullOutputStream()), "", 1);
    }

    public void step(long n) {
        done += n;
        draw(false);
    }

    public void status(String text) {
        suffix = text;
        draw(false);
    }

    private void draw(boolean last) {
        double frac = Math.min(1.0, done / (double) total);
        double secs = (System.nanoTime() - start) / 1e9;
        String eta = done > 0 && frac < 1 ? String.format(Locale.ROOT, " ETA %.0fs", secs / frac - secs) : "";
        if (tty) {
            int width = 30;
            int fill = (int) Math.round(frac * width);
            out.printf(Locale.ROOT, "\r%-22s [%s%s] %d/%d %.1fs%s %s", label, "#".repeat(fill),
                    ".".repeat(width - fill), done, total, secs, eta, suffix);
            if (last) {
                out.println();
            }
            out.flush();
        } else {
            int decile = (int) (frac * 10);
            if (decile != lastDecile || last) {
                lastDecile = decile;
                if (json) {
                    out.printf(Locale.ROOT, "{\"progress\": %s, \"done\": %d, \"total\": %d, \"percent\": %.0f,"
                            + " \"seconds\": %.1f, \"status\": %s}%n", quote(label), done, total, frac * 100, secs,
                            quote(suffix));
                } else {
                    out.printf(Locale.ROOT, "%s: %d/%d (%.0f%%) %.1fs%s %s%n", label, done, total, frac * 100, secs,
                            eta, suffix);
                }
            }
        }
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    @Override
    public void close() {
        if (tty) {
            draw(true);
        } else if (lastDecile < 10) {
            draw(true);
        }
    }
}
