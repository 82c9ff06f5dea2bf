package dev.vigil.app.mqtt;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.Objects;

/**
 * Which model packages are in play ({@code <prefix>/model/state}, retained, QoS 1: a dashboard that connects later
 * still sees it). Schema {@value #SCHEMA}.
 *
 * @param schema always {@value #SCHEMA}
 * @param active id of the model in service; null in collect mode
 * @param candidate id of a trained model waiting for promotion; null when there is none
 * @param previous id of the model a rollback would return to; null when there is none
 * @param time when this state began (ISO-8601 UTC)
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record ModelStatePayload(String schema, String active, String candidate, String previous, String time) {
    public static final String SCHEMA = "vigil.model-state/1";

    public ModelStatePayload {
        Objects.requireNonNull(schema, "model-state schema");
        Objects.requireNonNull(time, "model-state time");
    }

    /** A model state of the current schema. */
    public static ModelStatePayload of(String active, String candidate, String previous, Instant time) {
        return new ModelStatePayload(SCHEMA, active, candidate, previous, Payloads.time(time));
    }
}
