package dev.vigil.app.capture;

import java.io.IOException;
import org.opencv.core.Mat;

/**
 * Where the frames of one camera come from: a simulated line, a folder of images, an MJPEG file, a V4L2 camera or a
 * network stream. One interface so that the {@link CameraRunner} can pace, crop, count and reconnect the same way
 * for all of them.
 *
 * <p>Life cycle: {@link #open()}, then {@link #read()} as often as the runner wants a frame, then {@link #close()}.
 * After a lost source ({@code read()} threw) the runner calls {@code close()} and later {@code open()} again on the
 * same instance, so {@code open()} must work after {@code close()}.
 *
 * <p>Sources do not pace themselves: the runner asks for a frame when one is due. Only devices that block by nature
 * (a V4L2 camera, a network stream) make {@code read()} wait for the next frame.
 *
 * <p>Threads: {@code open()} and {@code read()} are called by one thread (the camera's). {@code close()} may also be
 * called from another thread to stop a runner; it then unblocks a pending {@code read()} where the device allows it.
 */
public interface FrameSource extends AutoCloseable {

    /**
     * Opens (or reopens) the source.
     *
     * @throws IOException when it cannot be opened; the message names the path, device or url and what to do
     */
    void open() throws IOException;

    /**
     * The next frame.
     *
     * @return a new 8-bit BGR image that the caller owns and must release; an <em>empty</em> Mat when this frame is
     *     corrupt or unreadable (the caller skips and counts it); {@code null} when there is no frame now, e.g. at
     *     the end of a source that does not loop (then {@link #finished()} is true)
     * @throws IOException when the source is lost (camera unplugged, stream died); the caller closes and reopens it
     */
    Mat read() throws IOException;

    /** True once a source that does not loop has delivered its last frame. */
    boolean finished();

    /** A short human description for logs and status pages, e.g. {@code folder /data/line1 (42 images)}. */
    String describe();

    /**
     * What the source calls the frame last returned by {@link #read()}: the file name for a folder, a frame number
     * (and, for the synthetic line, the ground truth) otherwise. Defaults to {@link #describe()}.
     */
    default String lastName() {
        return describe();
    }

    /** Releases the device, file handles, child processes and buffers. Idempotent; never throws. */
    @Override
    void close();
}
