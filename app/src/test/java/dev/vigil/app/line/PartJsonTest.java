package dev.vigil.app.line;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.mqtt.Region;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The part record's JSON line: written and read back field for field; the time read from its first key. */
class PartJsonTest {
    private static byte[] line(String time) {
        return ("{\"time\":\"" + time + "\",\"camera\":\"cam1\"}").getBytes(StandardCharsets.UTF_8);
    }

    private static Instant slow(String text) {
        try {
            return Instant.parse(text);
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }

    @Test
    void everyFieldSurvivesTheLineAndKeysComeInTheRecordsOrder() {
        PartRecord full = new PartRecord(Instant.parse("2026-12-03T06:00:00.123456789Z"), "cam1", 42, "L \"7\", B",
                "plc", "m-1", "defect", "ng", "scratch", 0.93, new Region(1, 2, 3, 4), "ab".repeat(32),
                "s1234567890123-0a1b2c3d", null, 41);
        PartRecord bare = new PartRecord(Instant.parse("2026-12-03T06:00:00Z"), "cam2", 7, null, "mqtt", null,
                "late", "ng", null, null, null, null, null, "late", 2000);
        for (PartRecord p : List.of(full, bare)) {
            assertEquals(p, PartJson.parse(PartJson.bytes(p)));
        }
        String text = new String(PartJson.bytes(bare), StandardCharsets.UTF_8);
        assertEquals("{\"time\":\"2026-12-03T06:00:00Z\",\"camera\":\"cam2\",\"sequence\":7,\"lot\":null,"
                + "\"trigger\":\"mqtt\",\"modelId\":null,\"verdict\":\"late\",\"reported\":\"ng\",\"label\":null,"
                + "\"score\":null,\"region\":null,\"imageSha256\":null,\"sampleId\":null,\"error\":\"late\","
                + "\"processingMs\":2000}", text);
        // a newer version's extra keys are ignored
        String newer = text.replace("\"processingMs\":2000}", "\"processingMs\":2000,\"extra\":{\"a\":[1,2]}}");
        assertEquals(bare, PartJson.parse(newer.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void linesThatAreNoRecordsAreRefusedWithTheReason() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PartJson.parse("{\"time\":\"2026-12-03T06:"
                .getBytes(StandardCharsets.UTF_8))).getMessage().startsWith("not JSON"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PartJson.parse(("{\"time\":\"2026-12-03T06:00"
                + ":00Z\",\"camera\":\"cam1\",\"processingMs\":1}").getBytes(StandardCharsets.UTF_8))).getMessage()
                .contains("sequence is missing"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PartJson.parse(("{\"time\":\"yesterday\","
                + "\"sequence\":1,\"processingMs\":1}").getBytes(StandardCharsets.UTF_8))).getMessage()
                .contains("time is not an ISO-8601 instant: yesterday"));
        assertThrows(IllegalArgumentException.class, () -> PartJson.parse("[1]".getBytes(StandardCharsets.UTF_8)));
    }

    /** The fast reading of the leading time agrees with Instant.parse, and leaves what it does not know to it. */
    @Test
    void theLeadingTimeIsReadAsInstantParseReadsIt() {
        Random r = new Random(16);
        for (int i = 0; i < 20_000; i++) {
            Instant t = Instant.ofEpochSecond(r.nextLong(-30_000_000_000L, 250_000_000_000L), i % 3 == 0 ? 0
                    : r.nextInt(1_000_000_000) / (int) Math.pow(10, r.nextInt(9)) * (int) Math.pow(10, r.nextInt(3)));
            assertEquals(t, PartJson.timeOf(line(t.toString())), t.toString());
        }
        assertEquals(Instant.parse("2024-02-29T23:59:59.5Z"), PartJson.timeOf(line("2024-02-29T23:59:59.5Z")));
        assertNull(PartJson.timeOf(line("2026-02-29T00:00:00Z")), "no such day");
        for (String odd : List.of("2026-12-03T24:00:00Z", "2026-12-03T-1:00:00Z", "2026-12-03T06:00:00.Z",
                "2026-12-03T06:00:60Z", "2026-13-03T06:00:00Z", "0999-12-03T06:00:00Z")) {
            assertEquals(slow(odd), PartJson.timeOf(line(odd)), odd);
        }
        assertEquals(Instant.parse("2026-12-03T05:00:00Z"), PartJson.timeOf(line("2026-12-03T06:00:00+01:00")),
                "an offset: Instant.parse's business");
        assertNull(PartJson.timeOf("{\"camera\":\"cam1\",\"time\":\"2026-12-03T06:00:00Z\"}"
                .getBytes(StandardCharsets.UTF_8)), "not first: the caller parses the whole line");
    }
}
