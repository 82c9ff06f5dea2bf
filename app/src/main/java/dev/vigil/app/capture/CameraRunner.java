package dev.vigil.app.capture;

import dev.vigil.app.capture.CameraStatus.State;
import dev.vigil.config.DeviceConfig;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.opencv.core.Mat;
import org.opencv.core.Rect;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one camera on its own thread: opens its {@link FrameSource}, reads frames, crops them to the camera's ROI and
 * hands them to a {@link FrameSink}, and keeps doing so whatever happens to the source.
 *
 * <ul>
 *   <li>Pacing: in continuous mode a frame is read every {@code 1 / source.fps} seconds (the thread sleeps until
 *       the next one is due; when it falls behind it does not burst to catch up). In triggered mode
 *       ({@code cameras[i].trigger: triggered}) exactly one frame is read per {@link #trigger()}.</li>
 *   <li>ROI: checked against each real frame. An ROI that does not fit makes the camera {@link State#DOWN} with
 *       that reason (logged once) and its frames are dropped until the frames fit again; never a crash.</li>
 *   <li>Failures: an empty frame (corrupt) is skipped and counted. A source that fails to open or is lost
 *       ({@code IOException}) makes the camera DOWN with the reason; it is reopened after a back-off that starts at
 *       0.5 s and doubles up to 10 s (see {@link #backoff}), and the camera comes UP again by itself. A source that
 *       does not loop and reached its end makes the camera {@link State#FINISHED}, which is not an error. A sink
 *       that throws is logged and counted; the next frame is delivered as usual.</li>
 * </ul>
 *
 * <p>{@link #status()} is a snapshot that any thread may take at any time.
 */
public final class CameraRunner implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CameraRunner.class);
    /** The first wait before reopening a failed source. */
    public static final Duration DEFAULT_BACKOFF_INITIAL = Duration.ofMillis(500);
    /** The longest wait before reopening a failed source. */
    public static final Duration DEFAULT_BACKOFF_MAX = Duration.ofSeconds(10);
    /** Triggers waiting beyond this are refused: the camera cannot keep up. */
    public static final int MAX_PENDING_TRIGGERS = 64;
    /** Tries to get one good frame for one trigger before giving up on that trigger. */
    private static final int TRIGGER_ATTEMPTS = 3;
    /** Weight of the newest frame interval in the frame rate average. */
    private static final double RATE_WEIGHT = 0.2;

    private enum Outcome { STOPPED, FINISHED }

    private final String id;
    private final DeviceConfig.Camera camera;
    private final FrameSource source;
    private final FrameSink sink;
    private final boolean triggered;
    private final long periodNanos;

    private volatile long backoffInitialNanos = DEFAULT_BACKOFF_INITIAL.toNanos();
    private volatile long backoffMaxNanos = DEFAULT_BACKOFF_MAX.toNanos();

    /** Guards pendingTriggers and the sleeps, so that close() and trigger() wake the camera thread at once. */
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    /** Tokens of the triggers waiting for a frame, oldest first (0 = a trigger without a token). */
    private final java.util.ArrayDeque<Long> pendingTriggers = new java.util.ArrayDeque<>();
    /** The token of the trigger being served by the camera thread (0 = none). */
    private long servingTrigger;
    private volatile boolean stopping;
    private volatile boolean sourceOpen;
    private Thread thread;
    private boolean closed;

    private volatile State state = State.CONNECTING;
    private volatile String reason;
    private final AtomicLong frames = new AtomicLong();
    private final AtomicLong corruptFrames = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private final AtomicLong sinkErrors = new AtomicLong();
    private volatile Instant lastFrameAt;
    private volatile long lastFrameNanos;
    private volatile double intervalNanos;
    /** The previous frame since the source was (re)opened, for the frame rate; 0 = none yet. */
    private long rateAnchorNanos;
    private String roiProblem;

    /** A runner for {@code camera}, with the source its configuration asks for ({@link FrameSources}). */
    public CameraRunner(DeviceConfig.Camera camera, FrameSink sink) {
        this(camera, FrameSources.create(camera), sink);
    }

    /**
     * A runner for {@code camera} reading from {@code source} (tests, or a source made elsewhere); the camera's
     * id, ROI, trigger mode and {@code source.fps} apply, its source type is not looked at.
     */
    public CameraRunner(DeviceConfig.Camera camera, FrameSource source, FrameSink sink) {
        this.camera = Objects.requireNonNull(camera, "camera");
        this.id = camera.id() == null ? "camera" : camera.id();
        this.source = Objects.requireNonNull(source, "source");
        this.sink = Objects.requireNonNull(sink, "sink");
        this.triggered = camera.triggered();
        double fps = camera.source().fps();
        this.periodNanos = fps > 0 && Double.isFinite(fps) ? (long) (1e9 / fps) : 0;
    }

    /**
     * Sets the back-off before reopening a failed source: {@code initial}, doubling after every failed attempt up to
     * {@code max}; back to {@code initial} once a frame came through. Call before {@link #start()}.
     *
     * @return this runner
     */
    public CameraRunner backoff(Duration initial, Duration max) {
        if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("camera " + id + ": back-off " + initial + " to " + max
                    + " must be positive and initial <= max");
        }
        this.backoffInitialNanos = initial.toNanos();
        this.backoffMaxNanos = max.toNanos();
        return this;
    }

    /** Starts the camera thread ({@code camera-<id>}). Once only. */
    public synchronized void start() {
        if (thread != null || closed) {
            throw new IllegalStateException("camera " + id + ": " + (closed ? "closed" : "already started"));
        }
        thread = new Thread(this::run, "camera-" + id);
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Asks a triggered camera for one frame.
     *
     * @return true when the trigger was taken; false when this camera is continuous, not connected (a trigger while
     *     DOWN would capture a part long gone), stopped, or already has {@link #MAX_PENDING_TRIGGERS} waiting
     */
    public boolean trigger() {
        return trigger(0);
    }

    /**
     * Asks a triggered camera for one frame that carries {@code token} ({@link CapturedFrame#trigger()}), so that its
     * verdict can be matched to the part that asked for it.
     *
     * @return as {@link #trigger()}
     */
    public boolean trigger(long token) {
        if (!triggered) {
            LOG.debug("camera {}: trigger ignored, the camera is continuous (cameras[].trigger)", id);
            return false;
        }
        lock.lock();
        try {
            if (stopping || !sourceOpen || pendingTriggers.size() >= MAX_PENDING_TRIGGERS) {
                LOG.debug("camera {}: trigger refused ({})", id, stopping ? "stopped"
                        : !sourceOpen ? "not connected" : pendingTriggers.size() + " triggers waiting");
                return false;
            }
            pendingTriggers.addLast(token);
            wake.signalAll();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Whether this camera takes a frame per trigger (cameras[].trigger: triggered). */
    public boolean triggered() {
        return triggered;
    }

    /** A snapshot of this camera. */
    public CameraStatus status() {
        State s = state;
        double fps = 0;
        long last = lastFrameNanos;
        double interval = intervalNanos;
        if (s == State.UP && interval > 0 && last != 0) {
            fps = 1e9 / Math.max(interval, System.nanoTime() - last);
        }
        return new CameraStatus(id, s, s == State.DOWN ? reason : null, frames.get(), corruptFrames.get(),
                reconnects.get(), sinkErrors.get(), lastFrameAt, fps);
    }

    /** The camera id. */
    public String id() {
        return id;
    }

    /** The camera configuration. */
    public DeviceConfig.Camera camera() {
        return camera;
    }

    /** The source's description. */
    public String describeSource() {
        return source.describe();
    }

    /**
     * Stops the camera thread and closes the source. Waits for a frame being delivered; a read blocked in a device
     * is cut short by closing the source. Idempotent.
     */
    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            t = thread;
        }
        lock.lock();
        try {
            stopping = true;
            wake.signalAll();
        } finally {
            lock.unlock();
        }
        if (t == null) {
            source.close();
            return;
        }
        if (t == Thread.currentThread()) {
            return; // called by the sink: the loop ends when the sink returns
        }
        try {
            t.join(2000);
            if (t.isAlive()) {
                source.close(); // unblocks a read waiting on a stream or camera
                t.join(3000);
            }
            if (t.isAlive()) {
                LOG.warn("camera {}: capture thread does not end; {} may be stuck", id, source.describe());
                t.interrupt();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- the camera thread -------------------------------------------------------------------------------

    private void run() {
        long backoff = backoffInitialNanos;
        boolean failed = false;
        try {
            while (!stopping) {
                try {
                    source.open();
                } catch (IOException | RuntimeException e) {
                    if (stopping) {
                        return; // close() cut a slow open short
                    }
                    failed = true;
                    if (!retryLater("cannot open " + message(e), e, backoff)) {
                        return;
                    }
                    backoff = Math.min(backoff * 2, backoffMaxNanos);
                    continue;
                }
                opened(failed);
                failed = false;
                try {
                    Outcome outcome = capture();
                    if (outcome == Outcome.FINISHED) {
                        state = State.FINISHED;
                        LOG.info("camera {}: {} finished after {} frames ({} corrupt)", id, source.describe(),
                                frames.get(), corruptFrames.get());
                    }
                    return;
                } catch (IOException | RuntimeException e) {
                    if (stopping) {
                        return;
                    }
                    boolean delivered = rateAnchorNanos != 0;
                    if (delivered) {
                        backoff = backoffInitialNanos;
                    }
                    sourceClosed();
                    failed = true;
                    if (!retryLater("lost: " + message(e), e, backoff)) {
                        return;
                    }
                    backoff = Math.min(backoff * 2, backoffMaxNanos);
                }
            }
        } catch (Error e) {
            state = State.DOWN;
            reason = "camera " + id + ": capture thread died: " + e;
            LOG.error("camera {}: capture thread died", id, e);
            throw e;
        } finally {
            sourceClosed();
            source.close();
        }
    }

    private void opened(boolean afterFailure) {
        rateAnchorNanos = 0;
        roiProblem = null;
        lock.lock();
        try {
            pendingTriggers.clear();
            sourceOpen = true;
        } finally {
            lock.unlock();
        }
        if (afterFailure) {
            reconnects.incrementAndGet();
            LOG.info("camera {}: {} is back (reconnect {})", id, source.describe(), reconnects.get());
        } else {
            LOG.info("camera {}: {} open{}", id, source.describe(), triggered ? ", waiting for triggers" : "");
        }
        reason = null;
        state = State.UP;
    }

    private void sourceClosed() {
        lock.lock();
        try {
            sourceOpen = false;
            pendingTriggers.clear();
        } finally {
            lock.unlock();
        }
    }

    /** Reads, crops and delivers frames until stopped (returns) or the source finished, or throws when lost. */
    private Outcome capture() throws IOException {
        long due = System.nanoTime();
        while (!stopping) {
            if (triggered) {
                if (!awaitTrigger()) {
                    return Outcome.STOPPED;
                }
                for (int attempt = 1; ; attempt++) {
                    Step step = captureOne();
                    if (step == Step.FINISHED) {
                        return Outcome.FINISHED;
                    }
                    if (step == Step.DELIVERED || stopping) {
                        break;
                    }
                    if (attempt >= TRIGGER_ATTEMPTS) {
                        LOG.warn("camera {}: no good frame for a trigger after {} tries ({})", id, attempt,
                                step == Step.NONE ? "the source has no frame now" : "corrupt frames");
                        break;
                    }
                    if (step == Step.NONE && !pause(Math.max(periodNanos, 10_000_000L))) {
                        return Outcome.STOPPED;
                    }
                }
            } else {
                if (!pauseUntil(due)) {
                    return Outcome.STOPPED;
                }
                long start = System.nanoTime();
                due += periodNanos;
                if (due < start) {
                    due = start + periodNanos; // fell behind by more than a frame: do not burst to catch up
                }
                if (captureOne() == Step.FINISHED) {
                    return Outcome.FINISHED;
                }
            }
        }
        return Outcome.STOPPED;
    }

    private enum Step { DELIVERED, NONE, CORRUPT, DROPPED, FINISHED }

    private Step captureOne() throws IOException {
        long start = System.nanoTime();
        Mat image = source.read();
        Instant at = Instant.now();
        if (image == null) {
            return source.finished() ? Step.FINISHED : Step.NONE;
        }
        if (image.empty()) {
            image.release();
            long n = corruptFrames.incrementAndGet();
            if (n == 1 || n % 100 == 0) {
                LOG.warn("camera {}: skipped a corrupt or unreadable frame ({}; {} so far) from {}", id,
                        source.lastName(), n, source.describe());
            }
            return source.finished() ? Step.FINISHED : Step.CORRUPT;
        }
        Mat cropped = crop(image);
        if (cropped == null) {
            return source.finished() ? Step.FINISHED : Step.DROPPED;
        }
        long done = System.nanoTime();
        long token = triggered ? servingTrigger : 0;
        CapturedFrame frame = new CapturedFrame(id, frames.incrementAndGet(), at, cropped, done - start,
                source.lastName(), token);
        rate(done);
        lastFrameAt = at;
        try {
            sink.accept(frame);
        } catch (RuntimeException e) {
            long n = sinkErrors.incrementAndGet();
            if (n == 1) {
                LOG.warn("camera {}: the frame sink failed on frame {}; going on", id, frame.sequence(), e);
            } else if (n % 100 == 0) {
                LOG.warn("camera {}: the frame sink failed {} times, last: {}", id, n, e.toString());
            } else {
                LOG.debug("camera {}: the frame sink failed on frame {}", id, frame.sequence(), e);
            }
            cropped.release();
        }
        return source.finished() ? Step.FINISHED : Step.DELIVERED;
    }

    /**
     * The frame cropped to the ROI (a new Mat; the frame is released), the frame itself without ROI, or null when
     * the ROI does not fit (the camera is then DOWN with that reason).
     */
    private Mat crop(Mat image) {
        DeviceConfig.Roi roi = camera.roi();
        if (roi == null) {
            fits();
            return image;
        }
        int cols = image.cols();
        int rows = image.rows();
        if (roi.x() < 0 || roi.y() < 0 || roi.width() < 1 || roi.height() < 1
                || (long) roi.x() + roi.width() > cols || (long) roi.y() + roi.height() > rows) {
            image.release();
            String why = String.format(Locale.ROOT, "camera %s: roi x=%d y=%d width=%d height=%d does not fit the "
                    + "%dx%d frames of %s; fix cameras[].roi (x + width <= %d, y + height <= %d) or the source size",
                    id, roi.x(), roi.y(), roi.width(), roi.height(), cols, rows, source.describe(), cols, rows);
            if (!why.equals(roiProblem)) {
                roiProblem = why;
                LOG.error(why);
            }
            reason = why;
            state = State.DOWN;
            return null;
        }
        fits();
        if (roi.x() == 0 && roi.y() == 0 && roi.width() == cols && roi.height() == rows) {
            return image;
        }
        Mat view = image.submat(new Rect(roi.x(), roi.y(), roi.width(), roi.height()));
        Mat cropped = view.clone();
        view.release();
        image.release();
        return cropped;
    }

    private void fits() {
        if (roiProblem != null) {
            roiProblem = null;
            LOG.info("camera {}: frames fit the roi again", id);
            reason = null;
            state = State.UP;
        }
    }

    private void rate(long now) {
        if (rateAnchorNanos != 0) {
            double dt = now - rateAnchorNanos;
            double old = intervalNanos;
            intervalNanos = old == 0 ? dt : (1 - RATE_WEIGHT) * old + RATE_WEIGHT * dt;
        }
        rateAnchorNanos = now;
        lastFrameNanos = now;
    }

    /** The source failed: DOWN with the reason, closed, then a wait before the next try; false when stopping. */
    private boolean retryLater(String why, Exception e, long backoff) {
        down(why, e, backoff);
        source.close();
        return pause(backoff);
    }

    private void down(String what, Exception e, long backoffNanos) {
        String why = "camera " + id + ": " + what;
        boolean news = state != State.DOWN || !why.equals(reason);
        reason = why;
        state = State.DOWN;
        String retry = backoffNanos < 1_000_000_000L
                ? "; retrying in " + backoffNanos / 1_000_000 + " ms"
                : String.format(Locale.ROOT, "; retrying in %.1f s", backoffNanos / 1e9);
        if (news) {
            if (e instanceof IOException) {
                LOG.warn("{}{}", why, retry);
            } else {
                LOG.warn("{}{}", why, retry, e);
            }
        } else {
            LOG.debug("{}{}", why, retry);
        }
    }

    private static String message(Exception e) {
        return e.getMessage() == null || e.getMessage().isBlank() ? e.toString() : e.getMessage();
    }

    /** Sleeps for {@code nanos}; false when the runner is stopping. */
    private boolean pause(long nanos) {
        return pauseUntil(System.nanoTime() + nanos);
    }

    /** Sleeps until {@code deadline} ({@link System#nanoTime()}); false when the runner is stopping. */
    private boolean pauseUntil(long deadline) {
        lock.lock();
        try {
            while (!stopping) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return true;
                }
                wake.awaitNanos(left);
            }
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** Waits for a trigger and takes it; false when the runner is stopping. */
    private boolean awaitTrigger() {
        lock.lock();
        try {
            while (!stopping && pendingTriggers.isEmpty()) {
                wake.await(1, TimeUnit.SECONDS);
            }
            if (stopping) {
                return false;
            }
            servingTrigger = pendingTriggers.removeFirst();
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
            return false;
        } finally {
            lock.unlock();
        }
    }
}
