package dev.vigil.app.mqtt;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * The one JSON codec of the MQTT payloads, so that every payload is written the same way wherever it is produced.
 *
 * <p>Rules (they are part of the contract, and the golden files in the tests pin them):
 * <ul>
 *   <li>Keys appear in the order of the record components; the first key is always {@code schema}
 *       ({@code vigil.<kind>/<major>}), so a reader can dispatch on it.</li>
 *   <li>Every key is always present: a value that is not known is written as an explicit {@code null}, never left
 *       out (the records carry {@code @JsonInclude(ALWAYS)}, so a differently configured mapper, such as the HTTP
 *       layer's, writes them the same way).</li>
 *   <li>Times are ISO-8601 strings in UTC ({@link #time(Instant)}: {@code 2026-03-01T12:00:00.250Z}).</li>
 *   <li>Compact, one line, UTF-8 (the alert journal relies on "one line").</li>
 *   <li>Readers ignore keys they do not know (a newer minor version may add keys); a new major version changes
 *       the schema string.</li>
 * </ul>
 */
public final class Payloads {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .build();
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSX")
            .withZone(ZoneOffset.UTC);

    private Payloads() {}

    /** An instant as the payloads write it: ISO-8601, UTC, milliseconds, e.g. {@code 2026-03-01T12:00:00.250Z}. */
    public static String time(Instant instant) {
        return TIME.format(instant);
    }

    /** The JSON text of a payload (one line). */
    public static String toJson(Object payload) {
        try {
            return MAPPER.writeValueAsString(payload);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write " + payload.getClass().getSimpleName() + " as JSON: "
                    + e.getOriginalMessage(), e);
        }
    }

    /** The UTF-8 bytes of {@link #toJson(Object)}. */
    public static byte[] toBytes(Object payload) {
        return toJson(payload).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Reads a payload back.
     *
     * @throws IllegalArgumentException when the text is not JSON of that payload (the message says which key)
     */
    public static <T> T parse(String json, Class<T> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a " + type.getSimpleName() + " payload: "
                    + e.getOriginalMessage(), e);
        }
    }
}
