package dev.vigil.app.mqtt;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.Objects;

/**
 * An alert: a part judged defective ({@code <prefix>/<camera>/alert}, QoS 1, not retained, never silently lost).
 * Schema {@value #SCHEMA}. The {@code id} is unique and stable (it is journaled with the alert), so a consumer
 * that must not count an alert twice (QoS 1 may in principle deliver twice) de-duplicates on it.
 *
 * @param schema always {@value #SCHEMA}
 * @param id unique alert id (a UUID)
 * @param time when the frame was captured (ISO-8601 UTC, {@link Payloads#time(Instant)})
 * @param device {@code device.id}
 * @param camera camera id
 * @param label the class the model gave the part
 * @param confidence the model's probability of that label, 0..1
 * @param verdict {@code defect} (or {@code uncertain} if the service is set to alert on those)
 * @param modelId id of the model package that judged the part
 * @param sampleId id of the stored frame in the sample store; null when the frame was not stored
 * @param region where the defect is, in pixels of the inspected image (the peak cell of the model's defect map);
 *     null when the model has no defect map. Added after {@code vigil.alert/1} was first published: older readers
 *     ignore it, older alerts (journaled before an upgrade) read back with null.
 * @param attributes what a multi-task model's other heads said about the part, by head name ({@link Attribute});
 *     null for a single classifier. Added later, as {@code region} was
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record AlertPayload(String schema, String id, String time, String device, String camera, String label,
        double confidence, String verdict, String modelId, String sampleId, Region region,
        java.util.Map<String, Attribute> attributes) {
    public static final String SCHEMA = "vigil.alert/1";

    public AlertPayload {
        Objects.requireNonNull(schema, "alert schema");
        Objects.requireNonNull(id, "alert id");
        Objects.requireNonNull(time, "alert time");
        Objects.requireNonNull(camera, "alert camera");
        if (!Double.isFinite(confidence)) {
            throw new IllegalArgumentException("alert " + id + ": confidence " + confidence + " is not a number");
        }
    }

    /** An alert of the current schema; {@code time} is written with {@link Payloads#time(Instant)}. */
    public static AlertPayload of(String id, Instant time, String device, String camera, String label,
            double confidence, String verdict, String modelId, String sampleId) {
        return of(id, time, device, camera, label, confidence, verdict, modelId, sampleId, null);
    }

    /** The same with where the defect is ({@link Region#of}; null when the model has no defect map). */
    public static AlertPayload of(String id, Instant time, String device, String camera, String label,
            double confidence, String verdict, String modelId, String sampleId, Region region) {
        return of(id, time, device, camera, label, confidence, verdict, modelId, sampleId, region, null);
    }

    /** The same with a multi-task model's other heads ({@link Attribute}; null for a single classifier). */
    public static AlertPayload of(String id, Instant time, String device, String camera, String label,
            double confidence, String verdict, String modelId, String sampleId, Region region,
            java.util.Map<String, Attribute> attributes) {
        return new AlertPayload(SCHEMA, id, Payloads.time(time), device, camera, label, confidence, verdict, modelId,
                sampleId, region, attributes);
    }
}
