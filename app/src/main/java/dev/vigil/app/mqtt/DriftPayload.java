package dev.vigil.app.mqtt;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.Objects;

/**
 * A camera's drift state ({@code <prefix>/<camera>/drift}, retained, QoS 1) and, with {@code event} set, the alert
 * sent when its alarm is raised or cleared ({@code <prefix>/<camera>/drift/alert}, QoS 1, journaled like verdict
 * alerts). Schema {@value #SCHEMA}; see docs/drift.md.
 *
 * @param schema always {@value #SCHEMA}
 * @param camera camera id
 * @param model the model whose features are compared (the window restarts when another model serves)
 * @param time when this state was taken (ISO-8601 UTC)
 * @param window frames per window ({@code drift.window})
 * @param frames frames in the window now (the score is null until the window is full)
 * @param score the drift score of the last full window: about 1 for frames like the training parts'
 * @param threshold {@code drift.threshold}
 * @param alarm whether the alarm is raised (the score reached the threshold and has not fallen below 80% of it)
 * @param since when the alarm was raised; null when it is not
 * @param event {@code raised} or {@code cleared} on the alert topic; null in the retained state
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record DriftPayload(String schema, String camera, String model, String time, int window, int frames,
        Double score, double threshold, boolean alarm, String since, String event) {
    public static final String SCHEMA = "vigil.drift/1";

    public DriftPayload {
        Objects.requireNonNull(schema, "drift schema");
        Objects.requireNonNull(camera, "drift camera");
        Objects.requireNonNull(time, "drift time");
        if (event != null && !event.equals("raised") && !event.equals("cleared")) {
            throw new IllegalArgumentException("drift event '" + event + "' must be raised, cleared or null");
        }
    }

    public static DriftPayload of(String camera, String model, Instant time, int window, int frames, double score,
            double threshold, boolean alarm, Instant since, String event) {
        return new DriftPayload(SCHEMA, camera, model, Payloads.time(time), window, frames,
                Double.isNaN(score) ? null : score, threshold, alarm, since == null ? null : Payloads.time(since),
                event);
    }
}
