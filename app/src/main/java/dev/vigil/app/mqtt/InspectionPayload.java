package dev.vigil.app.mqtt;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.Objects;

/**
 * One verdict ({@code <prefix>/<camera>/inspection}, QoS 0, only when {@code mqtt.inspections} is true; dropped
 * while the broker is away, as befits a live feed). Schema {@value #SCHEMA}.
 *
 * @param schema always {@value #SCHEMA}
 * @param id unique inspection id
 * @param time when the frame was captured (ISO-8601 UTC)
 * @param device {@code device.id}
 * @param camera camera id
 * @param label the class the model gave the part
 * @param confidence the model's probability of that label, 0..1
 * @param defectScore the probability that the part is not good, 0..1 (what the threshold is applied to)
 * @param verdict {@code ok}, {@code defect} or {@code uncertain}
 * @param modelId id of the model package
 * @param latencyMs capture to verdict, milliseconds
 * @param region the peak cell of the model's defect map in pixels of the inspected image (whatever the verdict: an ok
 *     part's peak is where it looks least good); null when the model has no defect map. Added to
 *     {@code vigil.inspection/1} later; readers ignore keys they do not know
 * @param attributes what a multi-task model's other heads said about the part, by head name ({@link Attribute});
 *     null for a single classifier. Added later, as {@code region} was
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record InspectionPayload(String schema, String id, String time, String device, String camera, String label,
        double confidence, double defectScore, String verdict, String modelId, double latencyMs, Region region,
        java.util.Map<String, Attribute> attributes) {
    public static final String SCHEMA = "vigil.inspection/1";

    public InspectionPayload {
        Objects.requireNonNull(schema, "inspection schema");
        Objects.requireNonNull(camera, "inspection camera");
        if (!Double.isFinite(confidence) || !Double.isFinite(defectScore) || !Double.isFinite(latencyMs)) {
            throw new IllegalArgumentException("inspection " + id + ": confidence " + confidence + ", defectScore "
                    + defectScore + " and latencyMs " + latencyMs + " must be numbers");
        }
    }

    /** An inspection of the current schema; {@code time} is written with {@link Payloads#time(Instant)}. */
    public static InspectionPayload of(String id, Instant time, String device, String camera, String label,
            double confidence, double defectScore, String verdict, String modelId, double latencyMs) {
        return of(id, time, device, camera, label, confidence, defectScore, verdict, modelId, latencyMs, null);
    }

    /** The same with the peak region of the model's defect map ({@link Region#of}; null without one). */
    public static InspectionPayload of(String id, Instant time, String device, String camera, String label,
            double confidence, double defectScore, String verdict, String modelId, double latencyMs, Region region) {
        return of(id, time, device, camera, label, confidence, defectScore, verdict, modelId, latencyMs, region, null);
    }

    /** The same with a multi-task model's other heads ({@link Attribute}; null for a single classifier). */
    public static InspectionPayload of(String id, Instant time, String device, String camera, String label,
            double confidence, double defectScore, String verdict, String modelId, double latencyMs, Region region,
            java.util.Map<String, Attribute> attributes) {
        return new InspectionPayload(SCHEMA, id, Payloads.time(time), device, camera, label, confidence, defectScore,
                verdict, modelId, latencyMs, region, attributes);
    }
}
