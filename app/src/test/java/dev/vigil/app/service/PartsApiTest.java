package dev.vigil.app.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.line.Lots;
import dev.vigil.app.line.PartRecord;
import dev.vigil.app.line.PartStore;
import dev.vigil.app.mqtt.Region;
import dev.vigil.app.testing.TestConfig;
import dev.vigil.config.DeviceConfig;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Traceability over the real HTTP server: who may read parts and reports and set the lot, the JSON and CSV forms of
 * parts and reports, and the 400 answers to bad parameters.
 */
class PartsApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A lot id with the characters CSV must quote: a quote and a comma. */
    private static final String ODD_LOT = "L \"7\", B";
    @TempDir
    Path tmp;

    static DeviceConfig twoTriggeredCameras(String device, Path data) {
        return TestConfig.offline(device, data)
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.synthetic(), null, "triggered"),
                        new DeviceConfig.Camera("cam2", DeviceConfig.Source.synthetic(), null, "triggered")))
                .build();
    }

    static PartRecord part(Instant time, String camera, long sequence, String lot, String verdict, String label) {
        boolean ok = verdict.equals("ok");
        boolean late = verdict.equals("late");
        return new PartRecord(time, camera, sequence, lot, "plc", late ? null : "m-7", verdict, ok ? "ok" : "ng",
                late ? null : label, late ? null : ok ? 0.02 : 0.91, verdict.equals("defect")
                        ? new Region(10, 20, 30, 40) : null, null, null, late ? "late" : null, late ? 2000 : 35);
    }

    private static HttpResponse<String> get(String url, String[] session, String accept) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
        if (session != null) {
            b.header("Cookie", session[0]);
        }
        if (accept != null) {
            b.header("Accept", accept);
        }
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String q(Instant t) {
        return URLEncoder.encode(t.toString(), StandardCharsets.UTF_8);
    }

    @Test
    void partsReportsAndLotsOverHttp() throws Exception {
        Path data = tmp.resolve("data");
        AccountStore accounts = new AccountStore(data.resolve("accounts.json"));
        accounts.put("vera", AccountStore.Role.VIEWER, "viewer secret 1".toCharArray());
        accounts.put("olga", AccountStore.Role.OPERATOR, "operator secret".toCharArray());
        ApplicationContext ctx = ServeCommand.start(twoTriggeredCameras("line7", data));
        try {
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            PartStore store = ctx.getBean(PartStore.class);
            Lots lots = ctx.getBean(Lots.class);
            VigilService service = ctx.getBean(VigilService.class);
            assertSame(service.parts(), store, "one store: the pipeline's and the controllers'");
            assertSame(service.lots(), lots);
            assertSame(store, ctx.getBean(dev.vigil.app.line.PartLog.class), "the store is the PartLog");
            assertEquals(data.resolve("parts"), store.dir());

            Instant base = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(Duration.ofHours(3));
            store.record(part(base.plusSeconds(60), "cam1", 1, "L-1", "ok", "ok"));
            store.record(part(base.plusSeconds(120), "cam1", 2, "L-1", "defect", "scratch"));
            store.record(part(base.plusSeconds(180), "cam2", 3, ODD_LOT, "defect", "dent"));
            store.record(part(base.plusSeconds(3600 + 60), "cam1", 4, ODD_LOT, "late", null));
            store.record(part(base.plusSeconds(3600 + 120), "cam2", 5, ODD_LOT, "ok", "ok"));
            store.record(part(base.minus(Duration.ofDays(2)), "cam1", 99, "L-0", "ok", "ok")); // outside the range
            String range = "from=" + q(base) + "&to=" + q(base.plus(Duration.ofHours(3)));

            // deny by default: nothing without a session
            for (String path : List.of("/api/parts", "/api/parts/report", "/api/lot")) {
                HttpResponse<String> r = get(url + path, null, null);
                assertEquals(401, r.statusCode(), path + ": " + r.body());
            }
            assertEquals(401, ApiClient.send("PUT", url + "/api/lot", "{\"lot\":\"L-9\"}", null, null)
                    .statusCode());

            String[] viewer = ServiceEndToEndTest.login(url, "vera", "viewer secret 1");
            // JSON, newest first by default
            HttpResponse<String> r = get(url + "/api/parts?" + range, viewer, null);
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
            JsonNode body = JSON.readTree(r.body());
            assertEquals(5, body.get("count").asInt(), r.body());
            assertFalse(body.get("truncated").asBoolean());
            assertEquals("newest", body.get("order").asText());
            assertEquals(1000, body.get("limit").asInt());
            assertEquals(List.of(5, 4, 3, 2, 1), ints(body.get("parts"), "sequence"));
            JsonNode defect = body.get("parts").get(3);
            assertEquals("scratch", defect.get("label").asText());
            assertEquals(30, defect.get("region").get("width").asInt());
            assertTrue(body.get("parts").get(0).has("sampleId") && body.get("parts").get(0).get("sampleId").isNull(),
                    "every key, null when unknown");
            // filters, order, limit
            body = JSON.readTree(get(url + "/api/parts?" + range + "&lot=" + URLEncoder.encode(ODD_LOT,
                    StandardCharsets.UTF_8) + "&order=oldest", viewer, null).body());
            assertEquals(List.of(3, 4, 5), ints(body.get("parts"), "sequence"));
            body = JSON.readTree(get(url + "/api/parts?" + range + "&camera=cam2", viewer, null).body());
            assertEquals(List.of(5, 3), ints(body.get("parts"), "sequence"));
            body = JSON.readTree(get(url + "/api/parts?" + range + "&limit=2", viewer, null).body());
            assertEquals(List.of(5, 4), ints(body.get("parts"), "sequence"));
            assertTrue(body.get("truncated").asBoolean(), "more matched than the limit");
            body = JSON.readTree(get(url + "/api/parts", viewer, null).body());
            assertEquals(5, body.get("count").asInt(), "default: the last 24 hours");

            // CSV: format=csv or Accept: text/csv; a download with a header row; quotes and commas quoted
            for (String[] ask : new String[][] {{"&format=csv", null}, {"", "text/csv"}}) {
                HttpResponse<String> csv = get(url + "/api/parts?" + range + "&order=oldest" + ask[0], viewer,
                        ask[1]);
                assertEquals(200, csv.statusCode(), csv.body());
                assertTrue(csv.headers().firstValue("content-type").orElse("").startsWith("text/csv"),
                        csv.headers().map().toString());
                String disposition = csv.headers().firstValue("content-disposition").orElse("");
                assertTrue(disposition.matches("attachment; filename=\"parts_\\d{8}T\\d{6}Z_\\d{8}T\\d{6}Z\\.csv\""),
                        disposition);
                List<String> lines = List.of(csv.body().split("\r\n"));
                assertEquals("time,camera,sequence,lot,trigger,modelId,verdict,reported,label,score,regionX,regionY,"
                        + "regionWidth,regionHeight,imageSha256,sampleId,error,processingMs", lines.get(0));
                assertEquals(6, lines.size(), csv.body());
                assertEquals(base.plusSeconds(120) + ",cam1,2,L-1,plc,m-7,defect,ng,scratch,0.91,10,20,30,40,,,,35",
                        lines.get(2));
                assertEquals(base.plusSeconds(180) + ",cam2,3,\"L \"\"7\"\", B\",plc,m-7,defect,ng,dent,0.91,10,20,"
                        + "30,40,,,,35", lines.get(3));
                assertEquals(base.plusSeconds(3660) + ",cam1,4,\"L \"\"7\"\", B\",plc,,late,ng,,,,,,,,,late,2000",
                        lines.get(4));
            }

            // the shift report: JSON and CSV
            r = get(url + "/api/parts/report?" + range, viewer, null);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode report = JSON.readTree(r.body());
            assertEquals(5, report.get("totals").get("parts").asInt(), r.body());
            assertEquals(2, report.get("totals").get("ok").asInt());
            assertEquals(3, report.get("totals").get("ng").asInt());
            assertEquals(0.6, report.get("totals").get("ngRate").asDouble(), 1e-9);
            assertEquals(1, report.get("deadlineMisses").asInt());
            assertEquals(1, report.get("errors").get("late").asInt());
            assertEquals(List.of("dent", "scratch"), texts(report.get("topDefects"), "label"));
            assertEquals(3, report.get("hours").size());
            assertEquals(List.of(3, 2, 0), ints(report.get("hours"), "parts"));
            assertEquals(base.toString(), report.get("hours").get(0).get("hour").asText());
            assertEquals(1, report.get("hours").get(1).get("late").asInt());
            assertEquals("UTC", report.get("zone").asText());
            report = JSON.readTree(get(url + "/api/parts/report?" + range + "&camera=cam2", viewer, null).body());
            assertEquals(2, report.get("totals").get("parts").asInt());
            HttpResponse<String> csv = get(url + "/api/parts/report?" + range + "&format=csv", viewer, null);
            assertEquals(200, csv.statusCode(), csv.body());
            assertTrue(csv.headers().firstValue("content-type").orElse("").startsWith("text/csv"));
            assertTrue(csv.headers().firstValue("content-disposition").orElse("").startsWith(
                    "attachment; filename=\"shift-report_"));
            List<String> lines = List.of(csv.body().split("\r\n"));
            assertEquals("section,key,parts,ok,ng,ngRate,late,count,share", lines.get(0));
            assertEquals("total,,5,2,3,0.6000,1,,", lines.get(1));
            assertTrue(lines.contains("hour," + base + ",3,1,2,0.6667,0,,"), csv.body());
            assertTrue(lines.contains("defect,scratch,,,,,,1,0.3333"), csv.body());
            assertTrue(lines.contains("error,late,,,,,,1,"), csv.body());

            // bad parameters: 400 naming the parameter, the value and the form
            assertBad(url + "/api/parts?from=yesterday", viewer, "from: 'yesterday' is not an ISO-8601 instant");
            assertBad(url + "/api/parts?to=2026-13-01T00:00:00Z", viewer, "to: '2026-13-01T00:00:00Z' is not an"
                    + " ISO-8601 instant; give it in UTC, e.g. 2026-12-03T06:00:00Z");
            assertBad(url + "/api/parts?limit=0", viewer, "limit: '0' must be a whole number from 1 to 100000");
            assertBad(url + "/api/parts?limit=100001", viewer, "limit: '100001' must be a whole number");
            assertBad(url + "/api/parts?limit=many", viewer, "limit: 'many'");
            assertBad(url + "/api/parts?from=" + q(base) + "&to=" + q(base), viewer, "from (" + base
                    + ") must be before to (" + base + ")");
            assertBad(url + "/api/parts?format=xml", viewer, "format: 'xml' must be json or csv");
            assertBad(url + "/api/parts?order=random", viewer, "order: 'random' must be newest or oldest");
            assertBad(url + "/api/parts?lot=" + "L".repeat(40), viewer, "lot: lot id '" + "L".repeat(32)
                    + "...' has 40 characters; at most 32");
            assertBad(url + "/api/parts?camera=a%2Fb", viewer, "camera: 'a/b' is not a camera id");
            assertBad(url + "/api/parts/report?zone=Mars%2FBase", viewer, "zone: 'Mars/Base' is not a time zone");
            assertBad(url + "/api/parts/report?from=" + q(base.minus(Duration.ofDays(40))), viewer,
                    "a report covers at most 31 days");

            // the lot: a viewer reads it and may not set it
            body = JSON.readTree(get(url + "/api/lot", viewer, null).body());
            assertEquals("[{\"camera\":\"cam1\",\"lot\":null},{\"camera\":\"cam2\",\"lot\":null}]",
                    body.get("lots").toString());
            HttpResponse<String> denied = ApiClient.send("PUT", url + "/api/lot", "{\"lot\":\"L-9\"}", viewer);
            assertEquals(403, denied.statusCode(), denied.body());
            assertNull(lots.of("cam1"));

            String[] operator = ServiceEndToEndTest.login(url, "olga", "operator secret");
            assertEquals(403, ApiClient.send("PUT", url + "/api/lot", "{\"lot\":\"L-9\"}", operator[0], null)
                    .statusCode(), "no CSRF token");
            HttpResponse<String> set = ApiClient.send("PUT", url + "/api/lot", "{\"camera\":\"cam2\",\"lot\":"
                    + "\" L-42 \"}", operator);
            assertEquals(200, set.statusCode(), set.body());
            assertEquals("L-42", lots.of("cam2"), "trimmed");
            assertNull(lots.of("cam1"));
            assertEquals("[{\"camera\":\"cam1\",\"lot\":null},{\"camera\":\"cam2\",\"lot\":\"L-42\"}]",
                    JSON.readTree(set.body()).get("lots").toString());
            set = ApiClient.send("PUT", url + "/api/lot", "{\"lot\":\"L-43\"}", operator);
            assertEquals(200, set.statusCode(), set.body());
            assertEquals("L-43", lots.of("cam1"), "no camera: every camera");
            assertEquals("L-43", lots.of("cam2"));
            assertEquals("[{\"camera\":\"cam1\",\"lot\":\"L-43\"},{\"camera\":\"cam2\",\"lot\":\"L-43\"}]",
                    JSON.readTree(get(url + "/api/lot", viewer, null).body()).get("lots").toString());
            // bad lots change nothing and say why
            assertPutBad(url, operator, "{\"lot\":\"" + "x".repeat(33) + "\"}", "has 33 characters; at most 32");
            assertPutBad(url, operator, "{\"lot\":\"L-\\u00e9\"}", "has characters outside printable ASCII");
            assertPutBad(url, operator, "{\"camera\":\"cam9\",\"lot\":\"L-1\"}", "no camera 'cam9'; the cameras are"
                    + " [cam1, cam2]");
            assertPutBad(url, operator, "{\"camera\":\"cam1\"}", "the lot id is missing");
            assertPutBad(url, operator, "{\"lot\":7}", "lot must be a string in quotes, found 7");
            assertPutBad(url, operator, "{\"lots\":\"L-1\"}", "unknown key 'lots' in the lot command");
            assertPutBad(url, operator, "L-1", "the lot command is not JSON");
            assertEquals("L-43", lots.of("cam1"));
            assertEquals(200, ApiClient.send("PUT", url + "/api/lot", "{\"camera\":\"cam1\",\"lot\":\"\"}",
                    operator).statusCode());
            assertNull(lots.of("cam1"), "\"\" clears it");
            assertEquals("L-43", lots.of("cam2"));

            // shutdown closes the store after the pipeline: what was recorded is on disk, nothing more is taken
            store.record(part(base.plusSeconds(7000), "cam1", 50, null, "ok", "ok"));
            ctx.close();
            assertTrue(java.nio.file.Files.readString(store.file(java.time.LocalDate.ofInstant(base.plusSeconds(7000),
                    java.time.ZoneOffset.UTC))).contains("\"sequence\":50,"), "written before the store closed");
            long dropped = store.dropped();
            store.record(part(base.plusSeconds(7001), "cam1", 51, null, "ok", "ok"));
            assertEquals(dropped + 1, store.dropped(), "closed with the service");
        } finally {
            ctx.close();
        }
    }

    private static void assertBad(String url, String[] session, String expected) throws Exception {
        HttpResponse<String> r = get(url, session, null);
        assertEquals(400, r.statusCode(), url + ": " + r.body());
        String error = JSON.readTree(r.body()).get("error").asText();
        assertTrue(error.contains(expected), url + ": " + error);
    }

    private static void assertPutBad(String url, String[] session, String body, String expected) throws Exception {
        HttpResponse<String> r = ApiClient.send("PUT", url + "/api/lot", body, session);
        assertEquals(400, r.statusCode(), body + ": " + r.body());
        String error = JSON.readTree(r.body()).get("error").asText();
        assertTrue(error.contains(expected), body + ": " + error);
    }

    private static List<Integer> ints(JsonNode array, String key) {
        java.util.ArrayList<Integer> out = new java.util.ArrayList<>();
        array.forEach(n -> out.add(n.get(key).asInt()));
        return out;
    }

    private static List<String> texts(JsonNode array, String key) {
        java.util.ArrayList<String> out = new java.util.ArrayList<>();
        array.forEach(n -> out.add(n.get(key).asText()));
        return out;
    }
}
