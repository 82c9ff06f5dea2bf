package dev.vigil.app.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.core.VigilException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One {@code vigil train} run in a process of its own, so training cannot hurt inspection: a libtorch crash or an
 * out-of-memory ends the child, never the service. The child gets the lowest CPU priority (the idle scheduling class,
 * {@code chrt --idle}; {@code nice 19} where there is no chrt), at most {@code training.threads} threads (the JVM's
 * processor count and the native pools' thread counts), and at most {@code training.maxMemoryMb}: 55% of it as Java
 * heap, 20% as direct buffers, the rest left to native arenas; a child that runs out stops at once with a clear reason
 * ({@code -XX:+ExitOnOutOfMemoryError}). Its progress comes as JSON lines ({@code --progress json}); cancelling sends
 * SIGTERM and, after {@link #GRACE}, SIGKILL. Under systemd with delegation the child also runs in a cgroup of its own
 * whose {@code memory.max} is {@code training.maxMemoryMb} ({@link TrainingCgroup}), so native memory is bounded by
 * the kernel as well.
 */
public final class TrainingProcess {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** How long a cancelled child has to end by itself before it is killed. */
    public static final Duration GRACE = Duration.ofSeconds(10);
    /** The exit status of a JVM that ran out of memory with -XX:+ExitOnOutOfMemoryError. */
    static final int OUT_OF_MEMORY = 3;

    /** What the child printed: a progress step ({@code percent} known) or a line of text. */
    public record Line(String text, Integer percent) {}

    private static final System.Logger LOG = System.getLogger(TrainingProcess.class.getName());
    private final List<String> command;
    private final int maxMemoryMb;
    private final java.util.Optional<TrainingCgroup> cgroup;
    private Process process;

    /**
     * @param arguments the {@code vigil train} arguments ({@code --progress json} is added)
     */
    public TrainingProcess(List<String> arguments, int threads, int maxMemoryMb) {
        this("train", arguments, threads, maxMemoryMb, TrainingCgroup.system());
    }

    /**
     * A child running another of the trainer's commands ({@code adapt}) under the same bounds.
     *
     * @param command {@code train} or {@code adapt}
     */
    public static TrainingProcess of(String command, List<String> arguments, int threads, int maxMemoryMb) {
        return new TrainingProcess(command, arguments, threads, maxMemoryMb, TrainingCgroup.system());
    }

    TrainingProcess(List<String> arguments, int threads, int maxMemoryMb, java.util.Optional<TrainingCgroup> cgroup) {
        this("train", arguments, threads, maxMemoryMb, cgroup);
    }

    /** @param cgroup where the child is held to {@code maxMemoryMb} by the kernel too, where there is one */
    private TrainingProcess(String subcommand, List<String> arguments, int threads, int maxMemoryMb,
            java.util.Optional<TrainingCgroup> cgroup) {
        this.maxMemoryMb = maxMemoryMb;
        this.cgroup = cgroup;
        List<String> c = new ArrayList<>();
        // SCHED_IDLE: the child runs only on CPU time inspection leaves over (nice 10 alone still took a share)
        if (Files.isExecutable(Path.of("/usr/bin/chrt"))) {
            c.addAll(List.of("/usr/bin/chrt", "--idle", "0"));
        } else if (Files.isExecutable(Path.of("/usr/bin/nice"))) {
            c.addAll(List.of("/usr/bin/nice", "-n", "19"));
        }
        c.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString()));
        c.add("-Xmx" + Math.max(256, maxMemoryMb * 55 / 100) + "m");
        c.add("-XX:MaxDirectMemorySize=" + Math.max(64, maxMemoryMb * 20 / 100) + "m");
        c.add("-XX:ActiveProcessorCount=" + threads);
        c.add("-XX:+ExitOnOutOfMemoryError");
        c.add("-Dai.djl.offline=true");
        c.add("-cp");
        c.add(System.getProperty("java.class.path"));
        c.add("dev.vigil.app.Vigil");
        c.add(subcommand);
        c.addAll(arguments);
        c.add("--progress");
        c.add("json");
        this.command = List.copyOf(c);
    }

    public List<String> command() {
        return command;
    }

    /**
     * Runs the child to its end, passing each line it prints to {@code onLine}. Returns normally when it succeeded;
     * throws with the reason when it failed, was killed, or ran out of memory. Interrupted (the job cancelled): the
     * child gets SIGTERM, then SIGKILL after {@link #GRACE}, and the interruption is passed on.
     */
    public void run(int threads, Consumer<Line> onLine) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        for (String v : List.of("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")) {
            pb.environment().put(v, Integer.toString(threads));
        }
        process = pb.start();
        long oomKillsBefore = 0;
        TrainingCgroup cg = cgroup.orElse(null);
        if (cg != null) {
            try {
                oomKillsBefore = cg.oomKills();
                cg.place(process.pid(), maxMemoryMb);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "training: cannot put the training process into {0} ({1});"
                        + " the JVM limits bound it", cg.dir(), e.getMessage());
                cg = null;
            }
        }
        List<String> tail = new ArrayList<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    Line l = parse(line);
                    synchronized (tail) {
                        tail.add(l.text());
                        if (tail.size() > 20) {
                            tail.remove(0);
                        }
                    }
                    onLine.accept(l);
                }
            } catch (IOException e) {
                // the child is gone
            }
        }, "vigil-training-output");
        reader.setDaemon(true);
        reader.start();
        int code;
        try {
            code = process.waitFor();
        } catch (InterruptedException e) {
            stop();
            throw e;
        }
        reader.join(2000);
        if (code == 0) {
            return;
        }
        String last;
        synchronized (tail) {
            last = tail.stream().filter(t -> t.startsWith("vigil train:")).reduce((a, b) -> b)
                    .orElse(tail.isEmpty() ? "" : tail.get(tail.size() - 1));
        }
        if (code == OUT_OF_MEMORY || last.contains("OutOfMemoryError")) {
            throw new VigilException("the training process ran out of its memory (training.maxMemoryMb "
                    + maxMemoryMb + "): train on fewer images, a smaller input or --unfreeze 0, or raise"
                    + " training.maxMemoryMb");
        }
        if (code == 128 + 9 && cg != null && cg.oomKills() > oomKillsBefore) {
            throw new VigilException("the training process was stopped by its memory limit (training.maxMemoryMb "
                    + maxMemoryMb + ", the cgroup " + cg.dir() + "): train on fewer images, a smaller input or"
                    + " --unfreeze 0, or raise training.maxMemoryMb; the registry and the samples are unchanged");
        }
        if (code > 128) {
            throw new VigilException("the training process was killed (signal " + (code - 128) + ")"
                    + (last.isEmpty() ? "" : "; its last words: " + last) + "; the registry and the samples are"
                    + " unchanged");
        }
        throw new VigilException(last.isEmpty() ? "the training process failed (exit " + code + ")"
                : last.replaceFirst("^vigil train: ", ""));
    }

    /** SIGTERM, then SIGKILL after {@link #GRACE}. */
    public void stop() throws InterruptedException {
        Process p = process;
        if (p == null || !p.isAlive()) {
            return;
        }
        p.destroy();
        if (!p.waitFor(GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            p.waitFor(GRACE.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** The child's process id while it runs. */
    public Long pid() {
        Process p = process;
        return p == null ? null : p.pid();
    }

    /** A JSON progress line becomes "step: done/total (pct%) status"; anything else is text. */
    static Line parse(String line) {
        if (line.startsWith("{\"progress\"")) {
            try {
                JsonNode n = JSON.readTree(line);
                int pct = n.path("percent").asInt();
                String status = n.path("status").asText("");
                return new Line(n.path("progress").asText() + ": " + n.path("done").asLong() + "/"
                        + n.path("total").asLong() + " (" + pct + "%)" + (status.isEmpty() ? "" : " " + status), pct);
            } catch (IOException e) {
                return new Line(line, null);
            }
        }
        return new Line(line, null);
    }
}
