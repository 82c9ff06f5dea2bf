package dev.vigil.app.line;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.vigil.app.mqtt.Region;
import java.time.Instant;

/**
 * What happened to one part: the traceability record written once, when the part's result was reported (the verdict,
 * or the deadline passing first). A part is one trigger of a triggered camera (from the PLC, MQTT or HTTP); continuous
 * cameras inspect frames, not parts, and write none (docs/plc.md).
 *
 * @param time when the result was reported
 * @param camera the camera ({@code cameras[i].id})
 * @param sequence the part's number: the PLC's part number when it wrote one, else this camera's own count
 * @param lot the lot or order id in force when the part was triggered; null when none was set
 * @param trigger who triggered it: {@code plc}, {@code mqtt} or {@code http}
 * @param modelId the model that judged it; null in collect mode or when no verdict came
 * @param verdict {@code ok}, {@code defect}, {@code uncertain}, {@code unclassified} (no model), {@code none} (the
 *     camera could not take the PLC's trigger: error {@code capture}) or {@code late} (no verdict within
 *     {@code plc.deadlineMs})
 * @param reported what the line was told: {@code ok} only for an ok verdict, {@code ng} for everything else
 * @param label the most likely class; null without a verdict
 * @param score the defect score {@code 1 - P(ok)}; null without a verdict
 * @param region where the model sees the defect (frame pixels); null when the model has no defect map
 * @param imageSha256 SHA-256 of the stored sample's JPEG; null when the frame was not stored
 * @param sampleId the stored sample; null when the frame was not stored
 * @param error null, or the error code name reported with the part ({@code late}, {@code capture}, {@code no-model})
 * @param processingMs trigger to result, milliseconds
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record PartRecord(Instant time, String camera, long sequence, String lot, String trigger, String modelId,
        String verdict, String reported, String label, Double score, Region region, String imageSha256,
        String sampleId, String error, long processingMs) {

    public PartRecord {
        if (camera == null || verdict == null || reported == null || time == null || trigger == null) {
            throw new IllegalArgumentException("a part record needs its time, camera, trigger, verdict and reported"
                    + " result");
        }
        if (!reported.equals("ok") && !reported.equals("ng")) {
            throw new IllegalArgumentException("reported must be ok or ng, found '" + reported + "'");
        }
    }
}
