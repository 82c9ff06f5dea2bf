package dev.vigil.app.service;

import static dev.vigil.app.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.samples.Sample;
import dev.vigil.app.samples.SampleStore;
import dev.vigil.app.testing.TestConfig;
import dev.vigil.app.testing.TestModels;
import dev.vigil.config.DeviceConfig;
import dev.vigil.trainer.SharedAssets;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /api/samples/{id}/similar} on the running service with a real model (SqueezeNet fine-tuned on casting
 * images) judging real casting frames: every flagged frame is stored with its embedding; once some are labelled, a
 * sample's neighbours are labelled samples of the same model, most similar first, never itself and never unlabelled;
 * the same image fed again finds its labelled twin first at similarity 1; a deleted sample disappears; viewers,
 * anonymous requests and unknown ids are refused.
 */
class SimilarSamplesApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    @Test
    void labelledNeighboursOfTheSameModelMostSimilarFirstTheTwinFirstDeletedGone() throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine();
        Path casting = SharedAssets.casting();
        long t0 = System.nanoTime();
        Path model = TestModels.casting(tmp, "model", 0, 5, 2, 42);
        System.out.printf("SIMILAR model trained in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        Path frames = tmp.resolve("frames");
        TestModels.linkFrames(casting.resolve("test"), frames, 0, 5);
        // the same image again, last in name order: a near-duplicate of a frame that will be labelled
        Files.createSymbolicLink(frames.resolve("zz-twin.jpeg"), Files.readSymbolicLink(frames.resolve(
                "defective-00.jpeg")));
        Path data = tmp.resolve("data");
        new AccountStore(data.resolve("accounts.json")).put("olga", AccountStore.Role.OPERATOR,
                "line two operator".toCharArray());
        String viewerPassword = ServiceEndToEndTest.viewer(data);
        DeviceConfig c = TestConfig.device("line7")
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(frames.toString(), 2,
                        false), null, null)))
                .model(new DeviceConfig.ModelSettings(model.toString(), false))
                .offline()
                .storage(new DeviceConfig.Storage(data.toString(), null, null, 1.0, 1000, null))
                .build();
        ApplicationContext ctx = ServeCommand.start(c);
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            SampleStore store = p.samples();
            String modelId = p.model().id();
            // every judged frame is flagged (audit share 1); the camera's one-frame slot may drop a frame or two while
            // the first inference warms up, but never the first (taken at once) nor the last (nothing replaces it),
            // and the worker judges in order: the twin stored means every frame is done
            await(() -> store.list(null, 100).stream().anyMatch(s -> "zz-twin.jpeg".equals(s.source())),
                    Duration.ofSeconds(40), "the last frame flagged");
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            String[] olga = ServiceEndToEndTest.login(url, "olga", "line two operator");
            String[] vera = ServiceEndToEndTest.login(url, "vera", viewerPassword);
            Map<String, String> byName = new HashMap<>();
            for (Sample s : store.list(null, 100)) {
                byName.put(s.source(), s.id());
                // stored with its embedding: the model's, unit length, a file beside the image counted in the quota
                var e = store.embedding(s.id()).orElseThrow(() -> new AssertionError("no embedding: " + s.source()));
                assertEquals(modelId, e.model());
                double norm = 0;
                for (float v : e.vector()) {
                    norm += v * v;
                }
                assertEquals(1.0, norm, 1e-4, "L2-normalised");
                Path file = store.imageFile(s).resolveSibling(s.id() + ".embedding.f32");
                assertEquals(4L * e.vector().length, Files.size(file));
                assertEquals(Files.size(store.imageFile(s)) + (s.heatmap() == null ? 0
                        : Files.size(store.dir().resolve(s.heatmap().file()))) + Files.size(file), s.bytes(),
                        "the quota counts the embedding");
            }
            System.out.println("SIMILAR stored " + byName.size() + " of 11 frames: " + new java.util.TreeSet<>(
                    byName.keySet()));
            String twin = byName.get("zz-twin.jpeg");
            String original = byName.get("defective-00.jpeg");
            assertNotNull(original, byName.toString());
            assertTrue(byName.size() >= 7, "too many frames dropped to test with: " + byName.keySet());

            // nothing labelled yet: an empty list and why
            JsonNode none = get(url, twin, "", olga, 200);
            assertEquals(0, none.get("similar").size());
            assertTrue(none.get("reason").asText().contains("no labelled sample"), none.toString());

            // label: one by one, and in bulk; two stay unlabelled
            assertEquals(200, ApiClient.send("POST", url + "/api/samples/" + original + "/label",
                    "{\"label\":\"defective\"}", olga).statusCode());
            List<String> defects = present(byName, "defective-01.jpeg", "defective-02.jpeg", "defective-03.jpeg");
            List<String> oks = present(byName, "ok-00.jpeg", "ok-01.jpeg", "ok-02.jpeg", "ok-03.jpeg");
            assertFalse(oks.isEmpty(), byName.keySet().toString());
            assertEquals(200, ApiClient.send("POST", url + "/api/samples/labels", JSON.writeValueAsString(Map.of(
                    "ids", defects.stream().map(byName::get).toList(), "label", "defective")), olga).statusCode());
            assertEquals(200, ApiClient.send("POST", url + "/api/samples/labels", JSON.writeValueAsString(Map.of(
                    "ids", oks.stream().map(byName::get).toList(), "label", "ok")), olga).statusCode());
            Set<String> labelled = new java.util.HashSet<>();
            labelled.add(original);
            defects.forEach(n -> labelled.add(byName.get(n)));
            oks.forEach(n -> labelled.add(byName.get(n)));
            Set<String> unlabelled = new java.util.HashSet<>(byName.values());
            unlabelled.removeAll(labelled);
            assertTrue(unlabelled.size() >= 2, "the twin and at least one more stay unlabelled: " + byName.keySet());

            JsonNode r = get(url, twin, "?limit=24", olga, 200);
            System.out.println("SIMILAR twin: " + r);
            JsonNode list = r.get("similar");
            assertEquals(labelled.size(), list.size(), "every labelled sample, and only those: " + r);
            assertTrue(r.get("reason").isNull(), r.toString());
            assertEquals(modelId, r.get("model").asText());
            assertEquals(original, list.get(0).get("id").asText(), "the same image comes first: " + r);
            assertEquals(1.0, list.get(0).get("similarity").asDouble(), 1e-4);
            assertEquals("defective", list.get(0).get("label").asText());
            assertTrue(list.get(1).get("similarity").asDouble() < 0.9999, "the others are not the same image: " + r);
            double previous = Double.POSITIVE_INFINITY;
            for (JsonNode m : list) {
                String id = m.get("id").asText();
                assertTrue(labelled.contains(id), id + " is labelled");
                assertFalse(unlabelled.contains(id), id);
                assertNotEquals(twin, id, "never itself");
                double sim = m.get("similarity").asDouble();
                assertTrue(sim <= previous + 1e-9, "most similar first: " + r);
                previous = sim;
                assertEquals(store.get(id).orElseThrow().assignedLabel(), m.get("label").asText());
                assertEquals("cam1", m.get("camera").asText());
                assertEquals(modelId, m.get("modelId").asText());
                assertEquals(store.get(id).orElseThrow().time(), Instant.parse(m.get("time").asText()));
                assertEquals("/api/samples/" + id + "/thumbnail", m.get("thumbnail").asText());
            }
            assertEquals(200, ApiClient.send("GET", url + list.get(1).get("thumbnail").asText(), null, olga)
                    .statusCode(), "the thumbnail URL works");
            JsonNode byClass = r.get("byClass");
            assertEquals(Set.of("defective", "ok"), Set.copyOf(iterate(byClass.fieldNames())));
            assertEquals(original, byClass.get("defective").get("id").asText());
            assertEquals("ok", byClass.get("ok").get("label").asText());
            JsonNode firstOk = null;
            for (JsonNode m : list) {
                if (m.get("label").asText().equals("ok")) {
                    firstOk = m;
                    break;
                }
            }
            assertEquals(firstOk.get("id").asText(), byClass.get("ok").get("id").asText(),
                    "byClass: the nearest of each class");
            // how the classes separate: the twin (a defective part) against each class's labelled examples
            printSeparation(list);

            // a labelled sample never finds itself either; the default limit is 6
            JsonNode ofLabelled = get(url, original, "", olga, 200);
            assertEquals(Math.min(6, labelled.size() - 1), ofLabelled.get("similar").size());
            for (JsonNode m : ofLabelled.get("similar")) {
                assertNotEquals(original, m.get("id").asText());
                assertFalse(unlabelled.contains(m.get("id").asText()), "never unlabelled: " + ofLabelled);
            }
            assertEquals(2, get(url, twin, "?limit=2", olga, 200).get("similar").size());
            assertTrue(get(url, twin, "?limit=25", olga, 400).get("error").asText().contains("between 1 and 24"));

            // deleted: gone from the neighbours
            Path originalEmbedding = store.imageFile(store.get(original).orElseThrow()).resolveSibling(original
                    + ".embedding.f32");
            assertTrue(Files.exists(originalEmbedding));
            assertEquals(200, ApiClient.send("DELETE", url + "/api/samples/" + original, null, olga).statusCode());
            JsonNode after = get(url, twin, "?limit=24", olga, 200);
            assertEquals(labelled.size() - 1, after.get("similar").size());
            for (JsonNode m : after.get("similar")) {
                assertNotEquals(original, m.get("id").asText());
            }
            assertTrue(after.get("similar").get(0).get("similarity").asDouble() < 0.9999, after.toString());
            assertFalse(Files.exists(originalEmbedding), "the embedding file goes with its sample");
            // unlabelled: gone too
            String unlabel = byName.get(oks.get(0));
            assertEquals(200, ApiClient.send("POST", url + "/api/samples/" + unlabel + "/label", "{\"label\":null}",
                    olga).statusCode());
            assertFalse(get(url, twin, "?limit=24", olga, 200).get("similar").toString().contains(unlabel));

            // a sample without an embedding (stored before embeddings): an empty list and why
            Sample old = store.add("cam1", Instant.now(), Files.readAllBytes(frames.resolve("ok-04.jpeg")), "audit",
                    modelId, "ok", "ok", 0.9, List.of("defective", "ok"), List.of(0.1, 0.9), "old.jpeg");
            JsonNode noEmbedding = get(url, old.id(), "", olga, 200);
            assertEquals(0, noEmbedding.get("similar").size());
            assertTrue(noEmbedding.get("reason").asText().contains("no embedding"), noEmbedding.toString());

            // who may ask: an operator (above); not a viewer, not without a session; an unknown id is a 404
            HttpResponse<String> viewer = ApiClient.send("GET", url + "/api/samples/" + twin + "/similar", null,
                    vera);
            assertEquals(403, viewer.statusCode(), viewer.body());
            assertEquals(200, ApiClient.send("GET", url + "/api/samples/" + twin, null, vera).statusCode(),
                    "a viewer still reads the sample itself");
            HttpResponse<String> anonymous = ServiceEndToEndTest.get(url + "/api/samples/" + twin + "/similar");
            assertEquals(401, anonymous.statusCode(), anonymous.body());
            JsonNode unknown = get(url, "s0000000000000-deadbeef", "", olga, 404);
            assertTrue(unknown.get("error").asText().contains("no sample 's0000000000000-deadbeef'"),
                    unknown.toString());
        } finally {
            ctx.close();
        }
    }

    private static JsonNode get(String url, String id, String query, String[] session, int status)
            throws Exception {
        HttpResponse<String> r = ApiClient.send("GET", url + "/api/samples/" + id + "/similar" + query, null,
                session);
        assertEquals(status, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    /** Those of {@code names} that were stored. */
    private static List<String> present(Map<String, String> byName, String... names) {
        return java.util.Arrays.stream(names).filter(byName::containsKey).toList();
    }

    private static List<String> iterate(java.util.Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    private static void printSeparation(JsonNode list) {
        Map<String, List<Double>> sims = new java.util.TreeMap<>();
        for (int i = 1; i < list.size(); i++) { // the twin's identical original left out
            sims.computeIfAbsent(list.get(i).get("label").asText(), k -> new ArrayList<>())
                    .add(list.get(i).get("similarity").asDouble());
        }
        sims.forEach((label, l) -> System.out.printf(java.util.Locale.ROOT,
                "SIMILAR a defective frame vs labelled %s: mean %.3f, max %.3f (%d)%n", label,
                l.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN),
                l.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN), l.size()));
    }
}
