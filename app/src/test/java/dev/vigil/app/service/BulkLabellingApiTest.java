package dev.vigil.app.service;

import static dev.vigil.app.service.ApiClient.send;
import static dev.vigil.app.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.samples.Sample;
import dev.vigil.app.samples.SampleStore;
import dev.vigil.app.testing.TestConfig;
import dev.vigil.config.DeviceConfig;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bulk labelling over HTTP: {@code POST /api/samples/labels} labels many samples in one transaction (all or nothing)
 * and {@code POST /api/samples/labels/undo} takes the whole batch back, each change in the samples' history.
 */
class BulkLabellingApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    @Test
    void aBatchLabelsAllOrNothingAndItsUndoRestoresEveryPreviousLabel() throws Exception {
        Path folder = tmp.resolve("frames");
        ApiClient.writeFrames(folder, 5, 96, 96);
        Path data = tmp.resolve("data");
        new AccountStore(data.resolve("accounts.json")).put("olga", AccountStore.Role.OPERATOR,
                "line two operator".toCharArray());
        String viewerPassword = ServiceEndToEndTest.viewer(data);
        DeviceConfig c = TestConfig.device("line3")
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(folder.toString(), 4,
                        false), null, null)))
                .offline()
                .storage(new DeviceConfig.Storage(data.toString(), null, null, null, null, null))
                .build();
        ApplicationContext ctx = ServeCommand.start(c);
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            SampleStore store = p.samples();
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            await(() -> store.count() == 5, Duration.ofSeconds(10), "collected samples");
            List<String> ids = store.list(null, 10).stream().map(Sample::id).toList();
            String[] olga = ServiceEndToEndTest.login(url, "olga", "line two operator");
            String[] vera = ServiceEndToEndTest.login(url, "vera", viewerPassword);
            // one sample labelled before, so the undo has a label and unlabelled ones to restore
            assertEquals(200, send("POST", url + "/api/samples/" + ids.get(0) + "/label", "{\"label\":\"defect\"}",
                    olga).statusCode());
            Map<String, String> before = labels(store, ids);
            Map<String, Integer> historyBefore = historySizes(store, ids);

            String batchUrl = url + "/api/samples/labels";
            String four = body(ids.subList(0, 4), "ok");
            assertEquals(401, send("POST", batchUrl, four, null, null).statusCode());
            assertEquals(403, send("POST", batchUrl, four, olga[0], null).statusCode(), "no CSRF token");
            assertEquals(403, send("POST", batchUrl, four, olga[0], "wrong").statusCode(), "wrong CSRF token");
            assertEquals(403, send("POST", batchUrl, four, vera).statusCode(), "a viewer may only look");

            // all or nothing: one unknown id among known ones, and nothing changes
            List<String> withUnknown = new ArrayList<>(ids.subList(0, 4));
            withUnknown.add(2, "s0000000000000-deadbeef");
            var unknown = send("POST", batchUrl, body(withUnknown, "ok"), olga);
            assertEquals(400, unknown.statusCode(), unknown.body());
            assertTrue(unknown.body().contains("s0000000000000-deadbeef") && unknown.body().contains("nothing was"),
                    unknown.body());
            assertEquals("s0000000000000-deadbeef", JSON.readTree(unknown.body()).get("unknown").get(0).asText());
            var badLabel = send("POST", batchUrl, body(ids.subList(0, 4), "scratch"), olga);
            assertEquals(400, badLabel.statusCode());
            assertTrue(badLabel.body().contains("'scratch'") && badLabel.body().contains("[ok, defect]"),
                    badLabel.body());
            var empty = send("POST", batchUrl, "{\"ids\": [], \"label\": \"ok\"}", olga);
            assertEquals(400, empty.statusCode());
            assertTrue(empty.body().contains("ids"), empty.body());
            List<String> tooMany = new ArrayList<>();
            for (int i = 0; i < SampleStore.MAX_BATCH + 1; i++) {
                tooMany.add(ids.get(i % ids.size()));
            }
            var big = send("POST", batchUrl, body(tooMany, "ok"), olga);
            assertEquals(400, big.statusCode());
            assertTrue(big.body().contains("at most 1000"), big.body());
            assertEquals(before, labels(store, ids), "refused requests changed no label");
            assertEquals(historyBefore, historySizes(store, ids), "and wrote no history");

            // the batch: four samples (one labelled defect before, three unlabelled), one request, one batch id
            var ok = send("POST", batchUrl, four, olga);
            assertEquals(200, ok.statusCode(), ok.body());
            JsonNode answer = JSON.readTree(ok.body());
            String batch = answer.get("batch").asText();
            assertTrue(batch.matches("b[0-9]{13}-[0-9a-f]{8}"), batch);
            assertEquals(4, answer.get("count").asInt());
            for (String id : ids.subList(0, 4)) {
                assertEquals("ok", store.get(id).orElseThrow().assignedLabel());
                var last = store.history(id).get(store.history(id).size() - 1);
                assertEquals(batch, last.batch());
                assertEquals("olga", last.who());
                assertEquals(before.get(id), last.previous());
            }
            assertNull(store.get(ids.get(4)).orElseThrow().assignedLabel(), "the fifth was not in the batch");
            assertEquals(1 + 4, JSON.readTree(ServiceEndToEndTest.get(url + "/api/training/since", olga).body())
                    .get("labelledSinceLastTraining").asInt(), "every label of the batch counts");
            // the history endpoint shows the batch
            JsonNode h = JSON.readTree(ServiceEndToEndTest.get(url + "/api/samples/" + ids.get(0) + "/history", olga)
                    .body());
            assertEquals(batch, h.get(h.size() - 1).get("batch").asText());
            assertTrue(h.get(0).path("batch").isMissingNode() || h.get(0).get("batch").isNull(),
                    "a single label has no batch: " + h.get(0));

            String undoUrl = url + "/api/samples/labels/undo";
            String undoBody = "{\"batch\": \"" + batch + "\"}";
            assertEquals(401, send("POST", undoUrl, undoBody, null, null).statusCode());
            assertEquals(403, send("POST", undoUrl, undoBody, olga[0], null).statusCode());
            assertEquals(403, send("POST", undoUrl, undoBody, vera).statusCode());
            assertEquals(400, send("POST", undoUrl, "{\"batch\": \"../x\"}", olga).statusCode());
            assertEquals(404, send("POST", undoUrl, "{\"batch\": \"b0000000000000-00000000\"}", olga).statusCode());
            assertEquals("ok", store.get(ids.get(1)).orElseThrow().assignedLabel(), "refused undos changed nothing");

            var undone = send("POST", undoUrl, undoBody, olga);
            assertEquals(200, undone.statusCode(), undone.body());
            assertEquals(4, JSON.readTree(undone.body()).get("count").asInt());
            assertEquals(before, labels(store, ids), "every previous label back, unlabelled included");
            for (String id : ids.subList(0, 4)) {
                var hist = store.history(id);
                assertEquals(historyBefore.get(id) + 2, hist.size(), "the batch and its undo in the history");
                var last = hist.get(hist.size() - 1);
                assertEquals(batch, last.batch());
                assertEquals("ok", last.previous());
                assertEquals(before.get(id), last.label());
            }
            var again = send("POST", undoUrl, undoBody, olga);
            assertEquals(409, again.statusCode(), "undone once only: " + again.body());
            assertEquals(before, labels(store, ids));

            // a sample relabelled after a batch: its undo would overwrite that decision, so it is refused whole
            String second = JSON.readTree(send("POST", batchUrl, body(ids.subList(2, 5), "defect"), olga).body())
                    .get("batch").asText();
            assertEquals(200, send("POST", url + "/api/samples/" + ids.get(3) + "/label", "{\"label\":\"ok\"}", olga)
                    .statusCode());
            var conflict = send("POST", undoUrl, "{\"batch\": \"" + second + "\"}", olga);
            assertEquals(409, conflict.statusCode());
            assertTrue(conflict.body().contains(ids.get(3)), conflict.body());
            assertEquals("defect", store.get(ids.get(2)).orElseThrow().assignedLabel(), "nothing undone");
            assertEquals("ok", store.get(ids.get(3)).orElseThrow().assignedLabel());
        } finally {
            ctx.close();
        }
    }

    private static String body(List<String> ids, String label) throws Exception {
        return JSON.writeValueAsString(Map.of("ids", ids, "label", label));
    }

    private static Map<String, String> labels(SampleStore store, List<String> ids) {
        Map<String, String> out = new HashMap<>();
        ids.forEach(id -> out.put(id, store.get(id).orElseThrow().assignedLabel()));
        return out;
    }

    private static Map<String, Integer> historySizes(SampleStore store, List<String> ids) {
        Map<String, Integer> out = new HashMap<>();
        ids.forEach(id -> out.put(id, store.history(id).size()));
        return out;
    }
}
