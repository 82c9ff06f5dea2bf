package dev.vigil.app.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The scheduling policy the kernel applies to a process or thread, as {@code /proc/.../stat} reports it. */
public final class SchedulingPolicy {
    /** Linux's SCHED_IDLE: CPU only when no normal thread wants it. */
    public static final int SCHED_IDLE = 5;

    private SchedulingPolicy() {}

    /** Field 41 of a {@code stat} file ({@code /proc/PID/stat}, {@code /proc/thread-self/stat}). */
    public static int of(Path stat) {
        try {
            String s = Files.readString(stat);
            // fields after the parenthesised command name start at field 3
            return Integer.parseInt(s.substring(s.lastIndexOf(')') + 2).split(" ")[41 - 3]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
