package dev.vigil.app.mqtt;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The device's status ({@code <prefix>/status}, retained, QoS 1, refreshed every {@code mqtt.statusSeconds}; also
 * the body of {@code GET /api/status}). Schema {@value #SCHEMA}.
 *
 * @param schema always {@value #SCHEMA}
 * @param device {@code device.id}
 * @param time when the status was taken (ISO-8601 UTC)
 * @param version Vigil version
 * @param mode {@code inspect} (a model is in service) or {@code collect} (no model: frames are flagged for labelling)
 * @param modelId the model in service; null in collect mode
 * @param cameras every configured camera, in configuration order
 * @param verdicts verdict counts since start, keyed {@code ok}, {@code defect}, {@code uncertain} (order kept)
 * @param alertQueue alerts waiting on disk for the broker
 * @param alertOverflow alerts dropped since start because the queue was at {@code mqtt.queueQuota}
 * @param uptimeSeconds seconds since the service started
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record StatusPayload(String schema, String device, String time, String version, String mode, String modelId,
        List<CameraState> cameras, Map<String, Long> verdicts, long alertQueue, long alertOverflow,
        long uptimeSeconds) {
    public static final String SCHEMA = "vigil.status/1";

    public StatusPayload {
        Objects.requireNonNull(schema, "status schema");
        Objects.requireNonNull(time, "status time");
        if (!"inspect".equals(mode) && !"collect".equals(mode)) {
            throw new IllegalArgumentException("status mode '" + mode + "' must be inspect or collect");
        }
        cameras = cameras == null ? List.of() : List.copyOf(cameras);
        verdicts = verdicts == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(verdicts));
    }

    /** A status of the current schema; {@code time} is written with {@link Payloads#time(Instant)}. */
    public static StatusPayload of(String device, Instant time, String version, String mode, String modelId,
            List<CameraState> cameras, Map<String, Long> verdicts, long alertQueue, long alertOverflow,
            long uptimeSeconds) {
        return new StatusPayload(SCHEMA, device, Payloads.time(time), version, mode, modelId, cameras, verdicts,
                alertQueue, alertOverflow, uptimeSeconds);
    }

    /**
     * One camera in the status.
     *
     * @param id camera id
     * @param state {@code connecting}, {@code up}, {@code down} or {@code finished}
     * @param reason why it is down (names the source and what to do); null otherwise
     * @param fps measured frames per second
     * @param frames frames captured since start
     * @param dropped frames skipped because inference was busy (the newest frame wins)
     * @param corrupt unreadable frames skipped
     * @param drift the camera's drift state (as on {@code <prefix>/<camera>/drift}); null while none is watched
     */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record CameraState(String id, String state, String reason, double fps, long frames, long dropped,
            long corrupt, DriftPayload drift) {
        public CameraState(String id, String state, String reason, double fps, long frames, long dropped,
                long corrupt) {
            this(id, state, reason, fps, frames, dropped, corrupt, null);
        }


        public CameraState {
            Objects.requireNonNull(id, "camera id");
            if (!Double.isFinite(fps)) {
                throw new IllegalArgumentException("camera " + id + ": fps " + fps + " is not a number");
            }
        }
    }
}
