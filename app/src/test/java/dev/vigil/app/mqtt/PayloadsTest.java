package dev.vigil.app.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Golden JSON: a fixed instance of each payload serialises to exactly {@code golden/<name>.json} and parses back to
 * an equal record. A change here is a change of the MQTT contract: bump the schema version if it is not additive.
 */
class PayloadsTest {
    static final Instant T = Instant.parse("2026-03-01T12:00:00.250Z");

    static AlertPayload alert() {
        return AlertPayload.of("7f0c1a52-3c1e-4d6b-9b7a-2f4e8d1c0a11", T, "line1", "cam1", "scratch", 0.93, "defect",
                "m-20260301-1", "s-000042", new Region(200, 20, 40, 40));
    }

    static InspectionPayload inspection() {
        return InspectionPayload.of("0b4e2c9d-5a61-4f38-8e7c-93d1a2b4c5d6", T, "line1", "cam1", "ok", 0.98, 0.02,
                "ok", "m-20260301-1", 12.5, new Region(120, 60, 40, 40));
    }

    static StatusPayload status() {
        Map<String, Long> verdicts = new LinkedHashMap<>();
        verdicts.put("ok", 1100L);
        verdicts.put("defect", 80L);
        verdicts.put("uncertain", 20L);
        return StatusPayload.of("line1", T, "0.1.0", "inspect", "m-20260301-1", List.of(
                new StatusPayload.CameraState("cam1", "up", null, 5.0, 1200, 3, 0, drift(null)),
                new StatusPayload.CameraState("cam2", "down", "camera cam2: /dev/video1 not found; plug it in", 0.0,
                        0, 0, 0)), verdicts, 2, 0, 3600);
    }

    static DriftPayload drift(String event) {
        return DriftPayload.of("cam1", "m-20260301-1", T, 50, 50, 3.2, 2.5, true, T.minusSeconds(60), event);
    }

    @Test
    void driftMatchesGolden() throws IOException {
        golden("drift", drift(null), DriftPayload.class);
        golden("drift-alert", drift("raised"), DriftPayload.class);
    }

    @Test
    void aStatusFromBeforeDriftReadsWithoutIt() throws IOException {
        StatusPayload old = Payloads.parse(read("status-before-drift"), StatusPayload.class);
        assertEquals(null, old.cameras().get(0).drift());
        assertEquals(status().cameras().get(1), old.cameras().get(1));
    }

    static ModelStatePayload modelState() {
        return ModelStatePayload.of("m-20260301-1", null, "m-20260214-3", T);
    }

    @Test
    void alertMatchesGolden() throws IOException {
        golden("alert", alert(), AlertPayload.class);
    }

    @Test
    void inspectionMatchesGolden() throws IOException {
        golden("inspection", inspection(), InspectionPayload.class);
    }

    /** A multi-task model's other heads, as alerts and inspections carry them (a single classifier's have none). */
    static Map<String, Attribute> attributes() {
        return Attribute.of(List.of(new dev.vigil.core.model.Manifest.Head("product", "probabilities_product",
                List.of("casting", "kolektor"))), List.of(new float[] {0.0312f, 0.9688f}));
    }

    @Test
    void alertsAndInspectionsOfAMultiTaskModelCarryTheOtherHeadsAsAttributes() throws IOException {
        AlertPayload a = AlertPayload.of("7f0c1a52-3c1e-4d6b-9b7a-2f4e8d1c0a11", T, "line1", "cam1", "defective",
                0.91, "defect", "m-20260301-2", "s-000043", null, attributes());
        golden("alert-multitask", a, AlertPayload.class);
        assertEquals("kolektor", a.attributes().get("product").label());
        InspectionPayload i = InspectionPayload.of("0b4e2c9d-5a61-4f38-8e7c-93d1a2b4c5d6", T, "line1", "cam1", "ok",
                0.98, 0.02, "ok", "m-20260301-2", 12.5, null, attributes());
        golden("inspection-multitask", i, InspectionPayload.class);
        // a single classifier's payloads say so with null
        assertTrue(Payloads.toJson(alert()).endsWith(",\"attributes\":null}"));
    }

    /**
     * Payloads written before {@code region} was added (golden files of that release): they still read, with region
     * null, and a model without a defect map writes {@code "region":null} in the same place.
     */
    @Test
    void alertsAndInspectionsFromBeforeRegionsReadBackWithoutOne() throws IOException {
        AlertPayload old = Payloads.parse(read("alert-before-region"), AlertPayload.class);
        assertEquals(alert().sampleId(), old.sampleId());
        assertEquals(null, old.region());
        assertEquals(Payloads.toJson(alert()).replace(",\"region\":{\"x\":200,\"y\":20,\"width\":40,\"height\":40}",
                ",\"region\":null"), Payloads.toJson(old));
        InspectionPayload oldInspection = Payloads.parse(read("inspection-before-region"), InspectionPayload.class);
        assertEquals(null, oldInspection.region());
        assertEquals(inspection().latencyMs(), oldInspection.latencyMs());
    }

    @Test
    void statusMatchesGolden() throws IOException {
        golden("status", status(), StatusPayload.class);
    }

    @Test
    void modelStateMatchesGolden() throws IOException {
        golden("model-state", modelState(), ModelStatePayload.class);
    }

    static ConfigStatePayload configState() {
        return ConfigStatePayload.of("r7", "refused", 12, java.util.List.of("decision.consensus: 0 must be between 1"
                + " and 100"), null, null, "mqtt config/set", T);
    }

    @Test
    void configStateMatchesGolden() throws IOException {
        golden("config-state", configState(), ConfigStatePayload.class);
    }

    @Test
    void factoriesFillTheSchema() {
        assertEquals("vigil.alert/1", alert().schema());
        assertEquals("vigil.inspection/1", inspection().schema());
        assertEquals("vigil.status/1", status().schema());
        assertEquals("vigil.model-state/1", modelState().schema());
    }

    @Test
    void nullsAreWrittenNotOmitted() {
        AlertPayload a = AlertPayload.of("id", T, "line1", "cam1", "scratch", 0.5, "defect", null, null);
        String json = Payloads.toJson(a);
        assertTrue(json.contains("\"modelId\":null,\"sampleId\":null"), json);
        assertEquals(a, Payloads.parse(json, AlertPayload.class));
    }

    @Test
    void timesAreUtcWithMilliseconds() {
        assertEquals("2026-03-01T12:00:00.000Z", Payloads.time(Instant.parse("2026-03-01T12:00:00Z")));
        assertEquals("2026-03-01T12:00:00.123Z", Payloads.time(Instant.parse("2026-03-01T12:00:00.123456789Z")));
    }

    @Test
    void readersIgnoreUnknownKeysAndRefuseBadJsonClearly() {
        String newer = Payloads.toJson(alert()).replace("}", ",\"addedLater\":1}");
        assertEquals(alert(), Payloads.parse(newer, AlertPayload.class));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Payloads.parse("{\"schema\":\"vigil.alert/1\",\"confidence\":\"high\"}", AlertPayload.class));
        assertTrue(e.getMessage().startsWith("not a AlertPayload payload"), e.getMessage());
    }

    @Test
    void notANumberIsRefusedWhereTheAlertIsMade() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AlertPayload.of("x", T, "d", "c", "l", Double.NaN, "defect", null, null));
        assertTrue(e.getMessage().contains("confidence"), e.getMessage());
    }

    private static String read(String name) throws IOException {
        try (InputStream in = PayloadsTest.class.getResourceAsStream("/golden/" + name + ".json")) {
            assertTrue(in != null, "golden/" + name + ".json is missing from the test resources");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
        }
    }

    private static <T extends Record> void golden(String name, T payload, Class<T> type) throws IOException {
        String expected = read(name);
        String json = Payloads.toJson(payload);
        assertEquals(expected, json, name + ": the JSON differs from golden/" + name + ".json");
        assertFalse(json.contains("\n"), "one line");
        assertEquals(payload, Payloads.parse(expected, type), name + ": the golden JSON does not read back equal");
        // Key order is the record component order, and every component is present.
        JsonNode tree = new ObjectMapper().readTree(json);
        List<String> keys = new ArrayList<>();
        tree.fieldNames().forEachRemaining(keys::add);
        assertEquals(Arrays.stream(type.getRecordComponents()).map(RecordComponent::getName).toList(), keys);
    }
}
