package dev.vigil.app.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A real Mosquitto broker for tests, on a free loopback port, with a configuration file of its own in a temporary
 * folder (nothing from {@code /etc/mosquitto} is used). It can be stopped and started again on the same port, to
 * test outages.
 *
 * <p>Where Mosquitto is not installed, tests that need it are skipped ({@code apt-get install mosquitto}), except
 * when the environment variable {@code CI} is {@code true}: there they fail, so that a CI image without it cannot
 * pass silently.
 *
 * <pre>
 * try (Mosquitto broker = Mosquitto.launch()) {
 *     ... broker.url() ...
 *     broker.stop();   // outage
 *     broker.start();  // back, same port
 * }
 * </pre>
 */
public final class Mosquitto implements AutoCloseable {
    private static final long START_TIMEOUT_MS = 10_000;

    private final Path binary;
    private final Path dir;
    private final boolean persistent;
    private final boolean anonymous;
    private final List<String> extra;
    private int port;
    private Process process;

    private Mosquitto(Path binary, boolean persistent, boolean anonymous, List<String> extra) throws IOException {
        this.binary = binary;
        this.dir = Files.createTempDirectory("vigil-mosquitto");
        this.persistent = persistent;
        this.anonymous = anonymous;
        this.extra = List.copyOf(extra);
        this.port = freePort();
    }

    /** A running broker: anonymous access, no persistence (a restart forgets sessions and retained messages). */
    public static Mosquitto launch() {
        Mosquitto m = prepared(false);
        m.start();
        return m;
    }

    /**
     * A running broker with persistence: on {@link #stop()} it saves sessions (subscriptions of clients that
     * connected with a session expiry), their queued QoS 1 messages and retained messages, and restores them on
     * {@link #start()} — an outage in which subscribers keep their place.
     */
    public static Mosquitto launchPersistent() {
        Mosquitto m = prepared(true);
        m.start();
        return m;
    }

    /** A broker configured on a free port but not started: "the broker is down" from the beginning. */
    public static Mosquitto prepared(boolean persistent) {
        return create(persistent, true, List.of());
    }

    /**
     * A broker, not started, with extra configuration lines written after its {@code listener} line (so
     * listener options such as {@code cafile}/{@code certfile}/{@code keyfile} apply to it).
     *
     * @param anonymous {@code allow_anonymous}
     */
    public static Mosquitto create(boolean persistent, boolean anonymous, List<String> extraLines) {
        Path binary = requireInstalled();
        try {
            return new Mosquitto(binary, persistent, anonymous, extraLines);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary folder for mosquitto: " + e, e);
        }
    }

    /**
     * The Mosquitto executable: {@code /usr/sbin/mosquitto} or {@code mosquitto} on the PATH. Skips the calling
     * test when there is none, or fails it when {@code CI=true}.
     */
    public static Path requireInstalled() {
        Path found = find();
        if (found == null) {
            String message = "mosquitto not installed: apt-get install mosquitto";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(message + " (CI=true: MQTT tests must not be skipped)");
            }
            Assumptions.assumeTrue(false, message);
        }
        return found;
    }

    /** {@code tcp://127.0.0.1:PORT} (the port stays the same across {@link #stop()} / {@link #start()}). */
    public String url() {
        return "tcp://127.0.0.1:" + port;
    }

    /** The port. */
    public int port() {
        return port;
    }

    /** The broker's folder (configuration, log, persistence). */
    public Path dir() {
        return dir;
    }

    /** Whether the broker process runs. */
    public synchronized boolean running() {
        return process != null && process.isAlive();
    }

    /**
     * Starts the broker (again) and waits until its port accepts connections.
     *
     * @throws IllegalStateException when it does not come up; the message holds the end of its log
     */
    public synchronized void start() {
        if (running()) {
            return;
        }
        boolean firstStart = process == null;
        for (int attempt = 1; ; attempt++) {
            try {
                launchProcess();
                return;
            } catch (IllegalStateException e) {
                // Another process may have taken the free port between our probe and mosquitto's bind. A fresh
                // port is fine for the first start; a restart must keep its port.
                if (!firstStart || attempt == 3 || !log().contains("Address already in use")) {
                    throw e;
                }
                port = freePort();
            }
        }
    }

    /** Stops the broker (SIGTERM, as a service stop would; a persistent broker saves its state) and waits. */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    /** The broker's log so far (for failure messages). */
    public String log() {
        try {
            Path log = dir.resolve("mosquitto.log");
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    /** Stops the broker and deletes its folder. */
    @Override
    public synchronized void close() {
        stop();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException ignored) {
            // a temp folder left behind is harmless
        }
    }

    private void launchProcess() {
        Path conf = dir.resolve("mosquitto.conf");
        List<String> lines = new ArrayList<>();
        lines.add("listener " + port + " 127.0.0.1");
        lines.addAll(extra);
        lines.add("allow_anonymous " + anonymous);
        lines.add("persistence " + persistent);
        if (persistent) {
            lines.add("persistence_location " + dir + "/");
            lines.add("autosave_interval 0");
        }
        lines.add("log_dest stderr");
        lines.add("log_type error");
        lines.add("log_type warning");
        lines.add("log_type notice");
        lines.add("log_type information");
        if ("root".equals(System.getProperty("user.name"))) {
            lines.add("user root"); // otherwise it drops to user mosquitto, who cannot write this folder
        }
        try {
            Files.write(conf, lines);
            process = new ProcessBuilder(binary.toString(), "-c", conf.toString()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("mosquitto.log").toFile()))
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + binary + ": " + e, e);
        }
        Process p = process;
        Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly, "mosquitto-" + port + "-reaper"));
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_TIMEOUT_MS);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("mosquitto exited with " + p.exitValue() + " on port " + port
                        + "; its log:\n" + log());
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
                if (p.isAlive()) {
                    return;
                }
            } catch (IOException notYet) {
                sleep(20);
            }
        }
        p.destroyForcibly();
        throw new IllegalStateException("mosquitto did not accept connections on port " + port + " within "
                + START_TIMEOUT_MS + " ms; its log:\n" + log());
    }

    private static Path find() {
        Path sbin = Path.of("/usr/sbin/mosquitto");
        if (Files.isExecutable(sbin)) {
            return sbin;
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String d : path.split(File.pathSeparator)) {
                Path candidate = Path.of(d, "mosquitto");
                if (Files.isExecutable(candidate)) {
                    return candidate;
                }
            }
        }
        return null;
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free loopback port: " + e, e);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for mosquitto", e);
        }
    }
}
