package dev.vigil.app.capture;

/**
 * Receives the frames of a {@link CameraRunner}, on the camera's thread. The sink owns
 * {@link CapturedFrame#image()} and must release it (or hand it on to whoever will). If {@link #accept} throws, the
 * runner logs and counts the error, releases the image and goes on with the next frame.
 */
@FunctionalInterface
public interface FrameSink {
    void accept(CapturedFrame frame);
}
