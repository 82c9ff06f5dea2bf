package dev.vigil.app.mqtt;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The answer to a configuration change, and the configuration in force ({@code <prefix>/config/state}, retained,
 * QoS 1). Schema {@value #SCHEMA}.
 *
 * @param schema always {@value #SCHEMA}
 * @param requestId the {@code requestId} of the change this answers; null for a change that came another way
 * @param result {@code applied}, {@code refused} (nothing changed), or {@code rolled-back} (applied, then undone
 *     because the service became unhealthy within the grace period)
 * @param version the configuration version in force after this change (its snapshot id)
 * @param problems why a change was refused or rolled back, each with its key path; empty when applied
 * @param restartNeeded keys changed whose new value takes effect at the next start of the service
 * @param camerasRestarted cameras restarted to apply the change
 * @param origin who or what asked for the change
 * @param time when it was decided (ISO-8601 UTC)
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record ConfigStatePayload(String schema, String requestId, String result, int version, List<String> problems,
        List<String> restartNeeded, List<String> camerasRestarted, String origin, String time) {
    public static final String SCHEMA = "vigil.config-state/1";

    public ConfigStatePayload {
        Objects.requireNonNull(schema, "config-state schema");
        Objects.requireNonNull(result, "config-state result");
        problems = problems == null ? List.of() : List.copyOf(problems);
        restartNeeded = restartNeeded == null ? List.of() : List.copyOf(restartNeeded);
        camerasRestarted = camerasRestarted == null ? List.of() : List.copyOf(camerasRestarted);
    }

    public static ConfigStatePayload of(String requestId, String result, int version, List<String> problems,
            List<String> restartNeeded, List<String> camerasRestarted, String origin, Instant time) {
        return new ConfigStatePayload(SCHEMA, requestId, result, version, problems, restartNeeded, camerasRestarted,
                origin, Payloads.time(time));
    }
}
