package dev.vigil.app.capture;

import java.time.Instant;
import org.opencv.core.Mat;

/**
 * One frame of one camera, after the ROI crop, as handed to a {@link FrameSink}. The image is an 8-bit BGR Mat that
 * belongs to whoever holds this record ({@link #close()} releases it); everything else is immutable.
 *
 * @param cameraId the camera ({@code cameras[i].id})
 * @param sequence 1, 2, 3... per camera and runner: frames handed to the sink (corrupt frames are not numbered)
 * @param capturedAt wall-clock time the frame was read
 * @param image the (cropped) BGR frame; the receiver owns it
 * @param captureNanos how long reading and cropping this frame took, in nanoseconds (includes any wait inside a
 *     blocking device)
 * @param sourceName what the source calls this frame ({@link FrameSource#lastName()}): a file name, a frame number
 * @param trigger the token of the trigger this frame answers (a part, {@code dev.vigil.app.line.PartTracker}); 0 for
 *     a continuous camera's frames and triggers that carry none
 */
public record CapturedFrame(String cameraId, long sequence, Instant capturedAt, Mat image, long captureNanos,
        String sourceName, long trigger) implements AutoCloseable {

    public CapturedFrame(String cameraId, long sequence, Instant capturedAt, Mat image, long captureNanos,
            String sourceName) {
        this(cameraId, sequence, capturedAt, image, captureNanos, sourceName, 0);
    }

    /** Releases the image. */
    @Override
    public void close() {
        image.release();
    }
}
