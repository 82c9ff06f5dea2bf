package dev.vigil.app.training;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A cgroup (v2) of its own for training children, under the service's own cgroup, with {@code memory.max} =
 * {@code training.maxMemoryMb} and no swap: the kernel holds the child to its limit whatever it allocates natively
 * (libtorch, ONNX Runtime, OpenCV), and an out-of-memory there kills the child, never the service.
 *
 * <p>It needs systemd's delegation ({@code Delegate=memory} in {@code vigil.service}): the service's cgroup is then
 * the service's to divide. Following the cgroup v2 rule that only leaves hold processes, the service first moves its
 * own processes into {@code <service cgroup>/serve}, enables the memory controller for the children, and makes
 * {@code <service cgroup>/training}. Without a writable delegated v2 cgroup (not under systemd, cgroup v1, a
 * container) there is none, and the JVM's own limits ({@link TrainingProcess}) are the bound.
 */
public final class TrainingCgroup {
    private static final System.Logger LOG = System.getLogger(TrainingCgroup.class.getName());
    private static final long MIB = 1L << 20;
    private static TrainingCgroup system;
    private static boolean probed;

    private final Path base;
    private final Path training;

    private TrainingCgroup(Path base) {
        this.base = base;
        this.training = base.resolve("training");
    }

    /** The cgroup of this machine's service process, set up at first use; empty where there can be none. */
    public static synchronized Optional<TrainingCgroup> system() {
        if (!probed) {
            probed = true;
            try {
                system = probe(Path.of("/sys/fs/cgroup"), Files.readString(Path.of("/proc/self/cgroup")))
                        .orElse(null);
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.INFO, "training: no cgroup of its own ({0}); the JVM limits bound it",
                        e.getMessage());
            }
        }
        return Optional.ofNullable(system);
    }

    /**
     * Sets the training cgroup up under the v2 cgroup named in {@code procSelfCgroup} (the text of
     * {@code /proc/self/cgroup}), below {@code root}; empty, with the reason logged, when that cgroup is not
     * writable.
     */
    static Optional<TrainingCgroup> probe(Path root, String procSelfCgroup) throws IOException {
        String path = procSelfCgroup.lines().filter(l -> l.startsWith("0::")).map(l -> l.substring(3)).findFirst()
                .orElse(null);
        if (path == null) {
            LOG.log(System.Logger.Level.INFO, "training: no cgroup v2 hierarchy; the JVM limits bound the training"
                    + " process");
            return Optional.empty();
        }
        Path own = root.resolve(path.replaceFirst("^/", ""));
        Path base = own.getFileName() != null && own.getFileName().toString().equals("serve") ? own.getParent()
                : own;
        if (!Files.isWritable(base.resolve("cgroup.subtree_control")) || !Files.isWritable(
                base.resolve("cgroup.procs"))) {
            LOG.log(System.Logger.Level.INFO, "training: the cgroup {0} is not delegated to the service (systemd:"
                    + " Delegate=memory); the JVM limits bound the training process", base);
            return Optional.empty();
        }
        // only leaves hold processes: the service's own (the JVM, a camera's ffmpeg) move to a leaf of their own
        Path serve = base.resolve("serve");
        Files.createDirectories(serve);
        for (String pid : Files.readAllLines(base.resolve("cgroup.procs"), StandardCharsets.US_ASCII)) {
            if (!pid.isBlank()) {
                write(serve.resolve("cgroup.procs"), pid.trim());
            }
        }
        String enabled = Files.readString(base.resolve("cgroup.subtree_control"));
        if (!List.of(enabled.trim().split("\\s+")).contains("memory")) {
            write(base.resolve("cgroup.subtree_control"), "+memory");
        }
        Files.createDirectories(base.resolve("training"));
        LOG.log(System.Logger.Level.INFO, "training: runs in the cgroup {0}/training", base);
        return Optional.of(new TrainingCgroup(base));
    }

    public Path dir() {
        return training;
    }

    /** Puts the child {@code pid} into the training cgroup with a memory limit of {@code maxMemoryMb}. */
    public void place(long pid, int maxMemoryMb) throws IOException {
        write(training.resolve("memory.max"), Long.toString(maxMemoryMb * MIB));
        Path swap = training.resolve("memory.swap.max");
        if (Files.exists(swap)) {
            write(swap, "0");
        }
        write(training.resolve("cgroup.procs"), Long.toString(pid));
    }

    /** How many times the kernel has killed a process of the training cgroup for memory. */
    public long oomKills() {
        try {
            for (String l : Files.readAllLines(training.resolve("memory.events"))) {
                if (l.startsWith("oom_kill ")) {
                    return Long.parseLong(l.substring(9).trim());
                }
            }
        } catch (IOException | NumberFormatException e) {
            // no events (yet)
        }
        return 0;
    }

    private static void write(Path file, String value) throws IOException {
        Files.writeString(file, value, StandardCharsets.US_ASCII);
    }
}
