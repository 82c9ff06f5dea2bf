package dev.vigil.app.line;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
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
        Instant fast = canonical(line, TIME_PREFIX.length, end);
        if (fast != null) {
            return fast;
        }
        try {
            return Instant.parse(new String(line, TIME_PREFIX.length, end - TIME_PREFIX.length,
                    StandardCharsets.US_ASCII));
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    /**
     * {@code uuuu-MM-ddTHH:mm:ss[.f{1,9}]Z}, as {@link Instant#toString()} writes the years 1000 to 9999, read without
     * a formatter (a report reads every line's time); null for anything else, which the caller parses the slow way.
     */
    private static Instant canonical(byte[] b, int from, int end) {
        int n = end - from;
        if (n < 20 || n > 30 || b[from + 4] != '-' || b[from + 7] != '-' || b[from + 10] != 'T'
                || b[from + 13] != ':' || b[from + 16] != ':' || b[end - 1] != 'Z') {
            return null;
        }
        int year = digits(b, from, 4);
        int month = digits(b, from + 5, 2);
        int day = digits(b, from + 8, 2);
        int hour = digits(b, from + 11, 2);
        int minute = digits(b, from + 14, 2);
        int second = digits(b, from + 17, 2);
        if (year < 1000 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0
                || minute > 59 || second < 0 || second > 59) {
            return null;
        }
        int nanos = 0;
        int at = from + 19;
        if (at < end - 1) {
            if (b[at] != '.' || end - 1 - (at + 1) < 1 || end - 1 - (at + 1) > 9) {
                return null;
            }
            int places = end - 1 - (at + 1);
            nanos = digits(b, at + 1, places);
            if (nanos < 0) {
                return null;
            }
            for (int i = places; i < 9; i++) {
                nanos *= 10;
            }
        }
        if (day > java.time.YearMonth.of(year, month).lengthOfMonth()) {
            return null;
        }
        long epochDay = java.time.LocalDate.of(year, month, day).toEpochDay();
        return Instant.ofEpochSecond(epochDay * 86_400 + hour * 3600L + minute * 60L + second, nanos);
    }

    /** The number written by {@code count} ASCII digits at {@code at}; -1 when one is not a digit. */
    private static int digits(byte[] b, int at, int count) {
        int v = 0;
        for (int i = at; i < at + count; i++) {
            int d = b[i] - '0';
            if (d < 0 || d > 9) {
                return -1;
            }
            v = v * 10 + d;
        }
        return v;
    }

    /**
     * Reads one line back.
     *
     * @throws IllegalArgumentException when it is not a part record (not JSON, a required key missing or of the
     *     wrong type); the message says what
     */
    public static PartRecord parse(byte[] line) {
        return parse(line, null);
    }

    /** As {@link #parse(byte[])}, with the time already read from the line by {@link #timeOf} (null: read it). */
    static PartRecord parse(byte[] line, Instant knownTime) {
        // a streaming parse: a report reads every record of its range, and a tree per line costs twice as much
        Instant time = knownTime;
        String camera = null;
        String lot = null;
        String trigger = null;
        String modelId = null;
        String verdict = null;
        String reported = null;
        String label = null;
        String imageSha256 = null;
        String sampleId = null;
        String error = null;
        Double score = null;
        Region region = null;
        Long sequence = null;
        Long processingMs = null;
        try (JsonParser p = FACTORY.createParser(line)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("not a JSON object");
            }
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                JsonToken v = p.nextToken();
                switch (key) {
                    case "time" -> {
                        String text = text(p, v, key);
                        if (time == null) {
                            try {
                                time = text == null ? null : Instant.parse(text);
                            } catch (DateTimeParseException e) {
                                throw new IllegalArgumentException("time is not an ISO-8601 instant: " + text);
                            }
                        }
                    }
                    case "camera" -> camera = text(p, v, key);
                    case "sequence" -> sequence = integer(p, v, key);
                    case "lot" -> lot = text(p, v, key);
                    case "trigger" -> trigger = text(p, v, key);
                    case "modelId" -> modelId = text(p, v, key);
                    case "verdict" -> verdict = text(p, v, key);
                    case "reported" -> reported = text(p, v, key);
                    case "label" -> label = text(p, v, key);
                    case "score" -> score = v.isNumeric() ? p.getDoubleValue() : null;
                    case "region" -> region = region(p, v);
                    case "imageSha256" -> imageSha256 = text(p, v, key);
                    case "sampleId" -> sampleId = text(p, v, key);
                    case "error" -> error = text(p, v, key);
                    case "processingMs" -> processingMs = integer(p, v, key);
                    default -> p.skipChildren(); // a key of a newer version
                }
            }
            if (t != JsonToken.END_OBJECT) {
                throw new IllegalArgumentException("not a complete JSON object");
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage(), e);
        }
        if (sequence == null || processingMs == null) {
            throw new IllegalArgumentException((sequence == null ? "sequence" : "processingMs") + " is missing");
        }
        return new PartRecord(time, camera, sequence, lot, trigger, modelId, verdict, reported, label, score, region,
                imageSha256, sampleId, error, processingMs);
    }

    private static String text(JsonParser p, JsonToken v, String key) throws IOException {
        if (v == JsonToken.VALUE_NULL) {
            return null;
        }
        if (v != JsonToken.VALUE_STRING) {
            throw new IllegalArgumentException(key + " is not a string: " + p.getText());
        }
        return p.getText();
    }

    private static long integer(JsonParser p, JsonToken v, String key) throws IOException {
        if (v != JsonToken.VALUE_NUMBER_INT) {
            throw new IllegalArgumentException(key + " is not an integer: " + p.getText());
        }
        return p.getLongValue();
    }

    private static Region region(JsonParser p, JsonToken v) throws IOException {
        if (v == JsonToken.VALUE_NULL) {
            return null;
        }
        if (v != JsonToken.START_OBJECT) {
            throw new IllegalArgumentException("region is not an object: " + p.getText());
        }
        Integer x = null;
        Integer y = null;
        Integer w = null;
        Integer h = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            JsonToken n = p.nextToken();
            switch (key) {
                case "x" -> x = (int) integer(p, n, "region.x");
                case "y" -> y = (int) integer(p, n, "region.y");
                case "width" -> w = (int) integer(p, n, "region.width");
                case "height" -> h = (int) integer(p, n, "region.height");
                default -> p.skipChildren();
            }
        }
        if (x == null || y == null || w == null || h == null) {
            throw new IllegalArgumentException("region needs x, y, width and height");
        }
        return new Region(x, y, w, h);
    }
}
