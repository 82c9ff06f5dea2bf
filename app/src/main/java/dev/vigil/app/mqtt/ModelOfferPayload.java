package dev.vigil.app.mqtt;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.Objects;

/**
 * The answer to a model offer ({@code <prefix>/model/offer/state}, retained, QoS 1). Schema {@value #SCHEMA}.
 *
 * @param schema always {@value #SCHEMA}
 * @param requestId the offer's {@code requestId}, or null
 * @param result {@code accepted} (downloaded, verified, entered in the registry as the candidate) or {@code refused}
 * @param url where the package archive was offered from
 * @param sha256 the SHA-256 the offer promised for the archive
 * @param candidateId the model id entered as the candidate; null when refused
 * @param reason why it was refused; null when accepted
 * @param bytes size of the archive downloaded (0 when none was)
 * @param time when it was decided (ISO-8601 UTC)
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record ModelOfferPayload(String schema, String requestId, String result, String url, String sha256,
        String candidateId, String reason, long bytes, String time) {
    public static final String SCHEMA = "vigil.model-offer/1";

    public ModelOfferPayload {
        Objects.requireNonNull(schema, "model-offer schema");
        Objects.requireNonNull(result, "model-offer result");
    }

    public static ModelOfferPayload accepted(String requestId, String url, String sha256, String candidateId,
            long bytes, Instant time) {
        return new ModelOfferPayload(SCHEMA, requestId, "accepted", url, sha256, candidateId, null, bytes,
                Payloads.time(time));
    }

    public static ModelOfferPayload refused(String requestId, String url, String sha256, String reason, long bytes,
            Instant time) {
        return new ModelOfferPayload(SCHEMA, requestId, "refused", url, sha256, null, reason, bytes,
                Payloads.time(time));
    }
}
