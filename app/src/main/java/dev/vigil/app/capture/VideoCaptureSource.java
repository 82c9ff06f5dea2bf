package dev.vigil.app.capture;

import dev.vigil.config.DeviceConfig;
import dev.vigil.core.image.OpenCv;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.opencv.core.Mat;
import org.opencv.imgproc.Imgproc;
import org.opencv.videoio.VideoCapture;
import org.opencv.videoio.Videoio;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Frames through OpenCV's {@link VideoCapture}, with the two back ends the OpenCV jar has for live and recorded
 * video (it has no FFMPEG or GStreamer; network streams go through {@link FfmpegStreamSource}):
 * <ul>
 *   <li>{@code v4l2}: a USB or CSI camera on Linux, by index ({@code 0}) or path ({@code /dev/video0}, or a udev
 *       link to it such as {@code /dev/v4l/by-id/...}). The configured width, height and frame rate are requested
 *       and what the camera actually chose is logged (cameras pick the nearest mode they support).
 *       {@link #read()} blocks until the camera delivers the next frame; a failed read means the camera is gone
 *       (unplugged, driver reset) and throws.</li>
 *   <li>{@code mjpeg-file}: an MJPEG {@code .avi} (OpenCV's built-in MJPEG reader), replayed frame by frame, paced by
 *       the runner. At the end it starts again by reopening the file when looping, or {@linkplain #finished()
 *       finishes}.</li>
 * </ul>
 * Frames come out as 8-bit BGR. {@code close()} may be called from another thread: it waits for a pending read.
 */
public final class VideoCaptureSource implements FrameSource {
    private static final Logger LOG = LoggerFactory.getLogger(VideoCaptureSource.class);

    private static final Pattern VIDEO_DEVICE = Pattern.compile("video(\\d+)");

    private enum Kind { V4L2, MJPEG_FILE }

    private final Kind kind;
    private final String device;
    private final Path file;
    private final boolean loop;
    private final int width;
    private final int height;
    private final double fps;

    private dev.vigil.config.DeviceConfig.CameraSettings settings;
    private VideoCapture capture;
    private boolean finished;
    private long frameNumber;
    private String lastName;

    private VideoCaptureSource(Kind kind, String device, Path file, boolean loop, int width, int height, double fps) {
        this.kind = kind;
        this.device = device;
        this.file = file;
        this.loop = loop;
        this.width = width;
        this.height = height;
        this.fps = fps;
    }

    /**
     * A V4L2 camera.
     *
     * @param device a camera index ({@code 0}) or a device path ({@code /dev/video0})
     * @param width requested frame width
     * @param height requested frame height
     * @param fps requested frame rate
     */
    public static VideoCaptureSource v4l2(String device, int width, int height, double fps) {
        if (device == null || device.isBlank()) {
            throw new IllegalArgumentException(
                    "v4l2 source: source.device is missing; give a camera index (0) or /dev/videoN");
        }
        return new VideoCaptureSource(Kind.V4L2, device.trim(), null, false, width, height, fps);
    }

    /** Camera controls applied when the camera opens (and at every reconnect); null = leave the camera's own. */
    public VideoCaptureSource withSettings(dev.vigil.config.DeviceConfig.CameraSettings s) {
        this.settings = s;
        return this;
    }

    /**
     * An MJPEG {@code .avi} file.
     *
     * @param file the file
     * @param loop start again at the end
     */
    public static VideoCaptureSource mjpegFile(Path file, boolean loop) {
        return new VideoCaptureSource(Kind.MJPEG_FILE, null, file, loop, 0, 0, 0);
    }

    /** The source for a {@code v4l2} or {@code mjpeg-file} configuration. */
    public static VideoCaptureSource of(DeviceConfig.Source source) {
        return switch (source.type()) {
            case "v4l2" -> v4l2(source.device(), source.width(), source.height(), source.fps());
            case "mjpeg-file" -> {
                if (source.path() == null || source.path().isBlank()) {
                    throw new IllegalArgumentException(
                            "mjpeg-file source: source.path is missing; set it to an MJPEG .avi file");
                }
                yield mjpegFile(Path.of(source.path()), source.loop());
            }
            default -> throw new IllegalArgumentException("VideoCaptureSource reads v4l2 and mjpeg-file sources, not '"
                    + source.type() + "'");
        };
    }

    /**
     * Opens the camera or file.
     *
     * @throws IOException when the camera or file cannot be opened; the message says what to check
     */
    @Override
    public synchronized void open() throws IOException {
        OpenCv.load();
        releaseCapture();
        finished = false;
        frameNumber = 0;
        lastName = null;
        if (kind == Kind.V4L2) {
            openCamera();
        } else {
            openFile();
        }
    }

    private void openCamera() throws IOException {
        int index = deviceIndex(device);
        VideoCapture c = new VideoCapture();
        if (!c.open(index, Videoio.CAP_V4L2) || !c.isOpened()) {
            c.release();
            throw new IOException("v4l2 camera " + device + (device.equals("/dev/video" + index) ? "" : " (/dev/video"
                    + index + ")") + " cannot be opened: check that it is plugged in (ls /dev/video*; v4l2-ctl "
                    + "--list-devices), that no other program uses it, and that the service user is in the 'video' "
                    + "group; or fix source.device");
        }
        c.set(Videoio.CAP_PROP_FRAME_WIDTH, width);
        c.set(Videoio.CAP_PROP_FRAME_HEIGHT, height);
        c.set(Videoio.CAP_PROP_FPS, fps);
        // Few driver buffers: a frame read on a trigger should be recent, not one queued seconds ago.
        c.set(Videoio.CAP_PROP_BUFFERSIZE, 2);
        int gotWidth = (int) c.get(Videoio.CAP_PROP_FRAME_WIDTH);
        int gotHeight = (int) c.get(Videoio.CAP_PROP_FRAME_HEIGHT);
        double gotFps = c.get(Videoio.CAP_PROP_FPS);
        String fourcc = fourcc((int) c.get(Videoio.CAP_PROP_FOURCC));
        if (gotWidth != width || gotHeight != height) {
            LOG.warn("v4l2 camera {}: asked for {}x{} at {} fps, the camera chose {}x{} at {} fps ({}); set "
                    + "source.width/height to a mode it supports (v4l2-ctl -d {} --list-formats-ext)", device, width,
                    height, fps, gotWidth, gotHeight, gotFps, fourcc, device);
        } else {
            LOG.info("v4l2 camera {}: {}x{} at {} fps ({}), asked for {} fps", device, gotWidth, gotHeight, gotFps,
                    fourcc, fps);
        }
        applySettings(c);
        capture = c;
    }

    /**
     * Sets the configured controls. V4L2 through OpenCV: auto exposure is 3 (aperture priority) or 1 (manual),
     * exposure in 100 µs steps, white balance in kelvin, focus in the driver's units. A control the driver refuses is
     * logged and skipped; what the camera reports back is logged, since drivers round or ignore values.
     */
    private void applySettings(VideoCapture c) {
        var s = settings;
        if (s == null) {
            return;
        }
        java.util.List<String> got = new java.util.ArrayList<>();
        Boolean autoExposure = s.exposure() != null ? Boolean.FALSE : s.autoExposure();
        control(c, "autoExposure", Videoio.CAP_PROP_AUTO_EXPOSURE, autoExposure == null ? null
                : autoExposure ? 3.0 : 1.0, got);
        control(c, "exposure", Videoio.CAP_PROP_EXPOSURE, s.exposure(), got);
        control(c, "gain", Videoio.CAP_PROP_GAIN, s.gain(), got);
        Boolean autoWb = s.whiteBalance() != null ? Boolean.FALSE : s.autoWhiteBalance();
        control(c, "autoWhiteBalance", Videoio.CAP_PROP_AUTO_WB, autoWb == null ? null : autoWb ? 1.0 : 0.0, got);
        control(c, "whiteBalance", Videoio.CAP_PROP_WB_TEMPERATURE, s.whiteBalance() == null ? null
                : s.whiteBalance().doubleValue(), got);
        Boolean autoFocus = s.focus() != null ? Boolean.FALSE : s.autoFocus();
        control(c, "autoFocus", Videoio.CAP_PROP_AUTOFOCUS, autoFocus == null ? null : autoFocus ? 1.0 : 0.0, got);
        control(c, "focus", Videoio.CAP_PROP_FOCUS, s.focus(), got);
        if (!got.isEmpty()) {
            LOG.info("v4l2 camera {}: settings {}", device, String.join(", ", got));
        }
    }

    private void control(VideoCapture c, String name, int prop, Double value, java.util.List<String> got) {
        if (value == null) {
            return;
        }
        if (!c.set(prop, value)) {
            LOG.warn("v4l2 camera {}: the driver does not take settings.{} = {}; left as it is ({})", device, name,
                    value, c.get(prop));
            return;
        }
        got.add(name + " " + value + " -> camera reports " + c.get(prop));
    }

    private void openFile() throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("mjpeg-file source: " + file.toAbsolutePath()
                    + (Files.exists(file) ? " is not a file" : " does not exist") + "; fix source.path");
        }
        if (!Files.isReadable(file)) {
            throw new IOException("mjpeg-file source: " + file.toAbsolutePath()
                    + " is not readable; give the service user read access");
        }
        VideoCapture c = new VideoCapture();
        if (!c.open(file.toString(), Videoio.CAP_OPENCV_MJPEG) && !c.open(file.toString(), Videoio.CAP_ANY)) {
            c.release();
            throw new IOException("mjpeg-file source: cannot open " + file.toAbsolutePath() + ": this OpenCV build "
                    + "reads only MJPEG .avi files; convert it (ffmpeg -i IN -c:v mjpeg -q:v 3 -an OUT.avi), or use "
                    + "source.type stream with source.url set to the file");
        }
        capture = c;
    }

    /**
     * The next frame.
     *
     * @return a BGR frame; empty if the frame could not be decoded; null at the end of a file that does not loop
     * @throws IOException when the camera stopped delivering, or a looping file gives no frame after reopening
     */
    @Override
    public synchronized Mat read() throws IOException {
        if (finished) {
            return null;
        }
        if (capture == null) {
            throw new IOException(describe() + " is not open");
        }
        Mat frame = new Mat();
        if (capture.read(frame)) {
            return delivered(frame);
        }
        frame.release();
        if (kind == Kind.V4L2) {
            throw new IOException("v4l2 camera " + device + " stopped delivering frames (unplugged, or the driver "
                    + "reset); check the cable and dmesg; reconnecting");
        }
        if (!loop) {
            finished = true;
            return null;
        }
        open();
        Mat again = new Mat();
        if (capture.read(again)) {
            return delivered(again);
        }
        again.release();
        throw new IOException("mjpeg-file source: " + file.toAbsolutePath()
                + " gives no frame after starting again; is it an MJPEG .avi with frames in it?");
    }

    private Mat delivered(Mat frame) {
        frameNumber++;
        lastName = (kind == Kind.V4L2 ? "v4l2-" + device.replace('/', '_') : file.getFileName().toString())
                + "#" + frameNumber;
        if (frame.empty() || frame.channels() == 3) {
            return frame;
        }
        Mat bgr = new Mat();
        Imgproc.cvtColor(frame, bgr, frame.channels() == 1 ? Imgproc.COLOR_GRAY2BGR : Imgproc.COLOR_BGRA2BGR);
        frame.release();
        return bgr;
    }

    /**
     * The V4L2 index of {@code device}: the number itself, or N of the {@code /dev/videoN} a path is or links to
     * (udev names such as {@code /dev/v4l/by-id/usb-...-video-index0} stay stable across replugging). The OpenCV jar
     * opens V4L2 cameras by index only.
     *
     * @throws IOException when the path does not exist or is not a /dev/videoN device
     */
    static int deviceIndex(String device) throws IOException {
        if (!device.isEmpty() && device.chars().allMatch(Character::isDigit)) {
            return Integer.parseInt(device);
        }
        Path real;
        try {
            real = Path.of(device).toRealPath();
        } catch (IOException | RuntimeException e) {
            throw new IOException("v4l2 camera " + device + " does not exist: check that it is plugged in (ls "
                    + "/dev/video*; v4l2-ctl --list-devices), or fix source.device (an index such as 0, or "
                    + "/dev/videoN)", e);
        }
        Matcher m = VIDEO_DEVICE.matcher(real.getFileName() == null ? "" : real.getFileName().toString());
        if (!m.matches()) {
            throw new IOException("v4l2 camera " + device + " is " + real + ", not a /dev/videoN device; fix "
                    + "source.device (an index such as 0, or /dev/videoN)");
        }
        return Integer.parseInt(m.group(1));
    }

    /** {@code video.avi#12} or {@code v4l2-0#12}: the source and the frame number since open. */
    @Override
    public synchronized String lastName() {
        return lastName == null ? describe() : lastName;
    }

    @Override
    public synchronized boolean finished() {
        return finished;
    }

    @Override
    public String describe() {
        return kind == Kind.V4L2
                ? String.format(Locale.ROOT, "v4l2 camera %s (%dx%d at %s fps requested)", device, width, height, fps)
                : "mjpeg-file " + file.toAbsolutePath() + (loop ? " (loop)" : " (once)");
    }

    @Override
    public synchronized void close() {
        releaseCapture();
    }

    private void releaseCapture() {
        if (capture != null) {
            capture.release();
            capture = null;
        }
    }

    private static String fourcc(int code) {
        StringBuilder s = new StringBuilder(4);
        for (int i = 0; i < 4; i++) {
            char ch = (char) ((code >> (8 * i)) & 0xff);
            s.append(ch >= 32 && ch < 127 ? ch : '?');
        }
        return s.toString();
    }
}
