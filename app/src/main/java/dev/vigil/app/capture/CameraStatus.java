package dev.vigil.app.capture;

import java.time.Instant;

/**
 * A snapshot of one camera for status pages, metrics and MQTT status messages.
 *
 * @param id the camera id
 * @param state what the camera is doing now
 * @param reason why it is {@link State#DOWN} (names the camera, the source and what to do); null otherwise
 * @param frames frames handed to the sink since start
 * @param corruptFrames unreadable frames skipped (corrupt files, broken JPEG frames)
 * @param reconnects times the source came back after being lost or failing to open
 * @param sinkErrors frames whose sink threw
 * @param lastFrameAt when the last frame was captured; null before the first
 * @param fps measured frames per second (moving average; decays when frames stop; 0 unless UP)
 */
public record CameraStatus(String id, State state, String reason, long frames, long corruptFrames, long reconnects,
        long sinkErrors, Instant lastFrameAt, double fps) {

    public CameraStatus {
        reason = dev.vigil.config.Redact.text(reason); // a source's error may quote its URL, password and all
    }

    /** The state of a camera. */
    public enum State {
        /** Opening the source for the first time. */
        CONNECTING,
        /** Delivering frames (or, when triggered, waiting for a trigger). */
        UP,
        /** Lost or not openable, or its ROI does not fit the frame; see the reason. Retries by itself. */
        DOWN,
        /** A source that does not loop delivered its last frame. Not an error. */
        FINISHED
    }
}
