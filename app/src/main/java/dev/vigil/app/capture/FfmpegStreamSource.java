package dev.vigil.app.capture;

import dev.vigil.config.DeviceConfig;
import dev.vigil.config.Redact;
import dev.vigil.core.image.OpenCv;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A network camera (RTSP, HTTP; any input ffmpeg reads, a local video file too) decoded by an {@code ffmpeg} child
 * process, because the OpenCV jar has no FFMPEG back end. ffmpeg writes raw BGR frames of exactly the configured
 * width x height (scaled), at the configured frame rate ({@code -r}: frames are dropped or repeated so that a fast
 * camera does not pile up a backlog behind a slower runner), to its standard output; {@link #read()} reads one
 * frame (W x H x 3 bytes) at a time and blocks until it is there.
 *
 * <p>{@link #open()} starts ffmpeg and waits for the first frame, so that an unreachable stream fails there, with
 * ffmpeg's own error in the message. A process that exits, an end of stream, or no data for the stall timeout while
 * a frame is awaited makes {@code read()} throw (the source is lost; the runner reconnects, which starts a new
 * ffmpeg). {@link #close()} ends ffmpeg and its children; it may be called from another thread and then unblocks a
 * pending read. Credentials in the url ({@code rtsp://user:password@host}) never appear in messages.
 */
public final class FfmpegStreamSource implements FrameSource {
    private static final Logger LOG = LoggerFactory.getLogger(FfmpegStreamSource.class);
    private static final int STDERR_LINES = 20;
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "ffmpeg-stream-watchdog");
        t.setDaemon(true);
        return t;
    });

    private final String url;
    private final int width;
    private final int height;
    private final double fps;
    private final String ffmpeg;
    private final long stallNanos;
    private final byte[] buffer;

    private final Object lock = new Object();
    private Process process;
    private InputStream stdout;
    private Mat pending;
    private ScheduledFuture<?> watchdog;
    private final Deque<String> stderrTail = new ArrayDeque<>();

    private volatile boolean reading;
    private volatile long lastProgressNanos;
    private volatile boolean stalled;
    private long frameNumber;

    /**
     * @param url the stream (rtsp://, http://, a file path...)
     * @param width output width: ffmpeg scales to it
     * @param height output height
     * @param fps output frame rate
     * @param ffmpeg the ffmpeg executable (a name on the PATH or a path)
     * @param stallTimeout a read that gets no data for this long ends ffmpeg and throws
     */
    public FfmpegStreamSource(String url, int width, int height, double fps, String ffmpeg, Duration stallTimeout) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException(
                    "stream source: source.url is missing; give an rtsp:// or http:// address");
        }
        if (width < 1 || height < 1 || !(fps > 0)) {
            throw new IllegalArgumentException("stream source " + Redact.text(url) + ": width " + width + ", height "
                    + height + " and fps " + fps + " must be positive");
        }
        this.url = url.trim();
        this.width = width;
        this.height = height;
        this.fps = fps;
        this.ffmpeg = ffmpeg == null || ffmpeg.isBlank() ? "ffmpeg" : ffmpeg;
        this.stallNanos = stallTimeout.toNanos();
        this.buffer = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
    }

    /** A stream source for {@code source}; stall timeout 10 s, or three frame intervals if longer. */
    public FfmpegStreamSource(DeviceConfig.Source source) {
        this(source.url(), source.width(), source.height(), source.fps(), source.ffmpeg(),
                Duration.ofMillis(Math.max(10_000, (long) (3000 / source.fps()))));
    }

    /** The ffmpeg command line (also for tests and logs; shows the url as given). */
    public List<String> command() {
        List<String> c = new ArrayList<>(List.of(ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin"));
        String lower = url.toLowerCase(Locale.ROOT);
        if (lower.startsWith("rtsp://") || lower.startsWith("rtsps://")) {
            c.addAll(List.of("-rtsp_transport", "tcp"));
        }
        c.addAll(List.of("-i", url, "-an", "-sn", "-r", String.format(Locale.ROOT, "%s", fps),
                "-s", width + "x" + height, "-f", "rawvideo", "-pix_fmt", "bgr24", "-"));
        return c;
    }

    /**
     * Starts ffmpeg and waits for the first frame.
     *
     * @throws IOException when ffmpeg is missing, or exits (or stalls) before the first frame; the message holds
     *     ffmpeg's error
     */
    @Override
    public void open() throws IOException {
        OpenCv.load();
        close();
        Process p;
        try {
            p = new ProcessBuilder(command()).start();
        } catch (IOException e) {
            String m = String.valueOf(e.getMessage());
            if (m.contains("error=2,") || m.contains("No such file")) {
                throw new IOException("ffmpeg not found ('" + ffmpeg + "'): install it (apt-get install ffmpeg) or "
                        + "set cameras[i].source.ffmpeg to its path", e);
            }
            throw new IOException("cannot start ffmpeg ('" + ffmpeg + "') for stream " + Redact.text(url) + ": " + m
                    + "; check that it is executable, or set cameras[i].source.ffmpeg", e);
        }
        p.getOutputStream().close();
        Thread drain = new Thread(() -> drainStderr(p), "ffmpeg-stderr");
        drain.setDaemon(true);
        synchronized (lock) {
            process = p;
            stdout = p.getInputStream();
            stalled = false;
            frameNumber = 0;
            synchronized (stderrTail) {
                stderrTail.clear();
            }
            watchdog = WATCHDOG.scheduleWithFixedDelay(this::checkStall, 200, 200, TimeUnit.MILLISECONDS);
        }
        drain.start();
        LOG.debug("stream {}: started ffmpeg (pid {})", Redact.text(url), p.pid());
        try {
            Mat first = readFrame(p, p.getInputStream());
            synchronized (lock) {
                if (process != p) {
                    first.release();
                    throw new IOException("stream " + Redact.text(url) + ": closed while opening");
                }
                pending = first;
            }
        } catch (IOException e) {
            close();
            throw new IOException("stream " + Redact.text(url) + " cannot be opened: " + e.getMessage(), e);
        }
    }

    /**
     * The next frame (blocks until ffmpeg has written it).
     *
     * @throws IOException when ffmpeg exited, the stream ended, stalled, or the source was closed
     */
    @Override
    public Mat read() throws IOException {
        Process p;
        InputStream in;
        synchronized (lock) {
            if (pending != null) {
                Mat first = pending;
                pending = null;
                frameNumber++;
                return first;
            }
            p = process;
            in = stdout;
        }
        if (p == null) {
            throw new IOException("stream " + Redact.text(url) + " is not open");
        }
        Mat frame = readFrame(p, in);
        synchronized (lock) {
            frameNumber++;
        }
        return frame;
    }

    private Mat readFrame(Process p, InputStream in) throws IOException {
        int off = 0;
        lastProgressNanos = System.nanoTime();
        reading = true;
        try {
            while (off < buffer.length) {
                int n;
                try {
                    n = in.read(buffer, off, buffer.length - off);
                } catch (IOException e) {
                    throw lost(p, "broke off (" + e.getMessage() + ")");
                }
                if (n < 0) {
                    throw lost(p, off == 0 ? "ended" : "ended inside a frame");
                }
                off += n;
                lastProgressNanos = System.nanoTime();
            }
        } finally {
            reading = false;
        }
        Mat m = new Mat(height, width, CvType.CV_8UC3);
        m.put(0, 0, buffer);
        return m;
    }

    private IOException lost(Process p, String what) {
        try {
            p.waitFor(500, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        StringBuilder m = new StringBuilder("stream ").append(Redact.text(url)).append(' ').append(what);
        if (stalled) {
            m.append(" after no data for ").append(stallNanos / 1_000_000).append(" ms");
        }
        if (!p.isAlive()) {
            m.append("; ffmpeg exited with code ").append(p.exitValue());
        }
        String err;
        synchronized (stderrTail) {
            err = String.join(" | ", stderrTail);
        }
        if (!err.isEmpty()) {
            m.append("; ffmpeg said: ").append(Redact.text(err));
        }
        m.append("; check the url, the network and the camera");
        return new IOException(m.toString());
    }

    private void checkStall() {
        if (reading && System.nanoTime() - lastProgressNanos > stallNanos) {
            Process p;
            synchronized (lock) {
                p = process;
            }
            if (p != null && p.isAlive()) {
                stalled = true;
                LOG.warn("stream {}: no data for {} ms, ending ffmpeg (pid {})", Redact.text(url), stallNanos / 1_000_000,
                        p.pid());
                destroy(p);
            }
        }
    }

    private void drainStderr(Process p) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                LOG.debug("stream {}: ffmpeg: {}", Redact.text(url), Redact.text(line));
                synchronized (stderrTail) {
                    if (stderrTail.size() == STDERR_LINES) {
                        stderrTail.removeFirst();
                    }
                    stderrTail.addLast(line.strip());
                }
            }
        } catch (IOException e) {
            // the process is gone; nothing more to read
        }
    }

    /** The ffmpeg process while open (tests: to kill it as a network failure would). */
    ProcessHandle processHandle() {
        synchronized (lock) {
            return process == null ? null : process.toHandle();
        }
    }

    /** {@code stream#12}: frames since open. */
    @Override
    public String lastName() {
        synchronized (lock) {
            return "stream#" + frameNumber;
        }
    }

    /** Streams never finish: an end of stream is a lost source. */
    @Override
    public boolean finished() {
        return false;
    }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "stream %s via %s (%dx%d at %s fps)", Redact.text(url), ffmpeg, width, height,
                fps);
    }

    /** Ends ffmpeg (and its children) and releases the buffers. */
    @Override
    public void close() {
        Process p;
        InputStream in;
        Mat first;
        synchronized (lock) {
            p = process;
            in = stdout;
            first = pending;
            process = null;
            stdout = null;
            pending = null;
            if (watchdog != null) {
                watchdog.cancel(false);
                watchdog = null;
            }
        }
        if (first != null) {
            first.release();
        }
        if (p != null) {
            destroy(p);
            try {
                in.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

    /**
     * Ends ffmpeg: its children first (killed), then ffmpeg politely, then forcibly after a second. Waits for ffmpeg
     * itself; the children are reaped by the system.
     */
    private void destroy(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroy();
        try {
            if (!p.waitFor(1, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                if (!p.waitFor(2, TimeUnit.SECONDS)) {
                    LOG.warn("stream {}: ffmpeg (pid {}) does not end", Redact.text(url), p.pid());
                }
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
