package dev.vigil.app.line;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.mqtt.Region;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * The one JSON form of a {@link PartRecord}: one compact object per line of the part store, and each element of
 * {@code GET /api/parts}. Keys in the record's order, {@code time} always first (so the store can skip a line by its
 * time without parsing it), every key present ({@code null} when unknown), times ISO-8601 UTC as
 * {@link Instant#toString()} writes them. Readers ignore keys they do not know.
 */
public final class PartJson {
    private static final JsonFactory FACTORY = new JsonFactory();
    private static final ObjectMapper MAPPER = new ObjectMapper(FACTORY);
    /** How every line the store writes begins. */
    static final byte[] TIME_PREFIX = "{\"time\":\"".getBytes(StandardCharsets.US_ASCII);

    private PartJson() {}

    /** Writes {@code p} as one JSON object (no newline) to an open generator. */
    public static void write(JsonGenerator g, PartRecord p) throws IOException {
        g.writeStartObject();
        g.writeStringField("time", p.time().toString());
        g.writeStringField("camera", p.camera());
        g.writeNumberField("sequence", p.sequence());
        g.writeStringField("lot", p.lot());
        g.writeStringField("trigger", p.trigger());
        g.writeStringField("modelId", p.modelId());
        g.writeStringField("verdict", p.verdict());
        g.writeStringField("reported", p.reported());
        g.writeStringField("label", p.label());
        g.writeFieldName("score");
        if (p.score() == null || !Double.isFinite(p.score())) {
            g.writeNull();
        } else {
            g.writeNumber(p.score());
        }
        g.writeFieldName("region");
        Region r = p.region();
        if (r == null) {
            g.writeNull();
        } else {
            g.writeStartObject();
            g.writeNumberField("x", r.x());
            g.writeNumberField("y", r.y());
            g.writeNumberField("width", r.width());
            g.writeNumberField("height", r.height());
            g.writeEndObject();
        }
        g.writeStringField("imageSha256", p.imageSha256());
        g.writeStringField("sampleId", p.sampleId());
        g.writeStringField("error", p.error());
        g.writeNumberField("processingMs", p.processingMs());
        g.writeEndObject();
    }

    /**
     * A generator over {@code out} that leaves the stream open when it is closed and does not close the objects and
     * arrays it opened (a response may be written a piece at a time).
     */
    public static JsonGenerator generator(OutputStream out) throws IOException {
        JsonGenerator g = FACTORY.createGenerator(out);
        g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        g.disable(JsonGenerator.Feature.AUTO_CLOSE_JSON_CONTENT);
        return g;
    }

    /** The UTF-8 JSON text of one record, without a newline. */
    public static byte[] bytes(PartRecord p) {
        var out = new java.io.ByteArrayOutputStream(320);
        try (JsonGenerator g = generator(out)) {
            write(g, p);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail
        }
        return out.toByteArray();
    }

    /**
     * The time of a line written by {@link #write}, read from its first key without parsing the rest; null when the
     * line does not begin that way (the caller parses it whole).
     */
    static Instant timeOf(byte[] line) {
        if (line.length < TIME_PREFIX.length + 20) {
            return null;
        }
        for (int i = 0; i < TIME_PREFIX.length; i++) {
            if (line[i] != TIME_PREFIX[i]) {
                return null;
            }
        }
        int end = TIME_PREFIX.length;
        while (end < line.length && end < TIME_PREFIX.length + 40 && line[end] != '"') {
            end++;
        }
        if (end >= line.length || line[end] != '"') {
            return null;
        }
        try {
            return Instant.parse(new String(line, TIME_PREFIX.length, end - TIME_PREFIX.length,
                    StandardCharsets.US_ASCII));
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    /**
     * Reads one line back.
     *
     * @throws IllegalArgumentException when it is not a part record (not JSON, a required key missing or of the
     *     wrong type); the message says what
     */
    public static PartRecord parse(byte[] line) {
        JsonNode n;
        try {
            n = MAPPER.readTree(line);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage(), e);
        }
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("not a JSON object");
        }
        try {
            JsonNode region = n.get("region");
            Region r = region == null || region.isNull() ? null : new Region(integer(region, "x"),
                    integer(region, "y"), integer(region, "width"), integer(region, "height"));
            JsonNode score = n.get("score");
            return new PartRecord(Instant.parse(text(n, "time")), text(n, "camera"), number(n, "sequence"),
                    text(n, "lot"), text(n, "trigger"), text(n, "modelId"), text(n, "verdict"), text(n, "reported"),
                    text(n, "label"), score == null || !score.isNumber() ? null : score.doubleValue(), r,
                    text(n, "imageSha256"), text(n, "sampleId"), text(n, "error"), number(n, "processingMs"));
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("time is not an ISO-8601 instant: " + e.getParsedString());
        }
    }

    private static String text(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new IllegalArgumentException(key + " is not a string: " + v);
        }
        return v.textValue();
    }

    private static long number(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.canConvertToLong()) {
            throw new IllegalArgumentException(key + " is missing or not an integer: " + v);
        }
        return v.longValue();
    }

    private static int integer(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.canConvertToInt()) {
            throw new IllegalArgumentException("region." + key + " is missing or not an integer: " + v);
        }
        return v.intValue();
    }
}
