package dev.vigil.app.service;

import dev.vigil.app.testing.TestConfig;

import static dev.vigil.app.service.ApiClient.send;
import static dev.vigil.app.testing.Await.await;
import static dev.vigil.app.service.ServiceEndToEndTest.get;
import static dev.vigil.app.service.ServiceEndToEndTest.login;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.samples.Sample;
import dev.vigil.app.training.TrainingJobs;
import dev.vigil.config.DeviceConfig;
import dev.vigil.trainer.SharedAssets;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The closed loop on real casting images and the real SqueezeNet: collect → label a few through the API → a weak
 * first model → label more → retrain → the candidate runs in shadow beside the active model on live frames and is
 * promoted only when the held-out evaluation set says it is at least as good; a deliberately worse candidate (training
 * labels flipped) is not promoted; a job is cancelled; operators may not start training.
 */
class TrainingApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double SHARE = 0.25;
    private static final int SHADOW_FRAMES = 12;
    @TempDir
    Path tmp;

    @Test
    void theLoopPromotesOnlyACandidateTheEvaluationSetFindsAtLeastAsGood() throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine();
        Path casting = SharedAssets.casting().resolve("test");
        Path frames = tmp.resolve("frames");
        Path live = tmp.resolve("live");
        Files.createDirectories(frames);
        Files.createDirectories(live);
        for (String cls : List.of("defective", "ok")) {
            List<Path> imgs;
            try (Stream<Path> s = Files.list(casting.resolve(cls))) {
                imgs = s.sorted().limit(34).toList();
            }
            for (int i = 0; i < imgs.size(); i++) {
                Files.createSymbolicLink((i < 30 ? frames : live).resolve(String.format("%s-%02d.jpeg", cls, i)),
                        imgs.get(i).toAbsolutePath());
            }
        }
        Path data = tmp.resolve("data");
        AccountStore accounts = new AccountStore(data.resolve("accounts.json"));
        accounts.put("admin", AccountStore.Role.ADMIN, "admin secret 1".toCharArray());
        accounts.put("olga", AccountStore.Role.OPERATOR, "operator secret".toCharArray());
        // cam1 plays the 60 images to label once, one per trigger (so none is dropped however slow the machine);
        // cam2 is the live line the shadow runs watch
        DeviceConfig c = TestConfig.device("line4")
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(frames.toString(), 8,
                        false), null, "triggered"), new DeviceConfig.Camera("cam2",
                        DeviceConfig.Source.folder(live.toString(), 4, true), null, null)))
                .offline()
                .storage(new DeviceConfig.Storage(data.toString(), null, null, null, null, null))
                .training(new DeviceConfig.Training(SharedAssets.squeezenet().toString(), 0, 8, null, 0, SHARE,
                        SHADOW_FRAMES, true).withLearningCurve(false))
                .build();
        ApplicationContext ctx = ServeCommand.start(c);
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            try {
                await(() -> p.cameraStatus().get("cam1").state() == dev.vigil.app.capture.CameraStatus.State.UP,
                        Duration.ofSeconds(30), "cam1 open");
                for (int i = 1; i <= 60; i++) {
                    int n = i;
                    p.trigger("cam1");
                    await(() -> cam1(p).size() == n, Duration.ofSeconds(30), "frame " + n + " collected from cam1");
                }
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + ": " + cam1(p).size() + " samples, " + p.cameraStatus()
                        + ", " + p.status(), e);
            }
            String[] olga = login(url, "olga", "operator secret");
            String[] admin = login(url, "admin", "admin secret 1");
            assertEquals(403, send("POST", url + "/api/training", "", olga).statusCode(), "operators cannot train");

            // the evaluation set (held out by id hash) is labelled first; then only three training images per class
            Map<String, Integer> perClass = new java.util.HashMap<>();
            for (Sample s : cam1(p)) {
                if (TrainingJobs.heldOut(s.id(), SHARE) || perClass.merge(truth(s), 1, Integer::sum) <= 3) {
                    label(url, s, truth(s), olga);
                }
            }
            JsonNode weak = train(url, admin);
            assertEquals(6, weak.get("images").get("defect").asInt() + weak.get("images").get("ok").asInt());
            JsonNode cmp = weak.get("comparison");
            int evalImages = cmp.get("evaluationImages").asInt();
            assertTrue(evalImages >= 8 && evalImages <= 24, "about a quarter held out: " + evalImages);
            assertTrue(cmp.get("promoted").asBoolean(), "no model was active: " + cmp);
            assertTrue(!weak.hasNonNull("shadow"), "nothing to shadow without an active model: " + weak);
            String weakId = weak.get("candidateId").asText();
            assertEquals(weakId, p.model().id(), "promoted by a hot swap, without a restart");

            // label everything else: the candidate trained on ten times the images
            for (Sample s : cam1(p)) {
                if (s.assignedLabel() == null) {
                    label(url, s, truth(s), olga);
                }
            }
            JsonNode more = train(url, admin);
            JsonNode mc = more.get("comparison");
            assertEquals(evalImages, mc.get("evaluationImages").asInt(), "the same evaluation images: " + mc);
            assertEquals(60 - evalImages, more.get("images").get("defect").asInt() + more.get("images").get("ok")
                    .asInt(), "every labelled sample not held out is trained on: " + more);
            boolean atLeastAsGood = mc.get("candidateAccuracy").asDouble() >= mc.get("activeAccuracy").asDouble()
                    && mc.get("candidateDefectRecall").asDouble() >= mc.get("activeDefectRecall").asDouble();
            assertEquals(atLeastAsGood, mc.get("promoted").asBoolean(), "promoted exactly when at least as good: " + mc);
            JsonNode shadow = more.get("shadow");
            assertEquals(SHADOW_FRAMES, shadow.get("frames").asInt(), "shadow run on live frames: " + shadow);
            assertEquals("complete", shadow.get("outcome").asText());
            assertEquals(weakId, shadow.get("activeId").asText());
            String moreId = more.get("candidateId").asText();
            assertEquals(atLeastAsGood ? moreId : weakId, p.model().id());
            JsonNode detail = JSON.readTree(get(url + "/api/models/" + moreId, admin).body());
            assertEquals(SHADOW_FRAMES, detail.get("shadow").get("frames").asInt(), "shadow figures kept: " + detail);
            assertEquals(mc.get("decision").asText(), detail.get("evaluation").get("decision").asText());
            assertTrue(detail.get("report").get("thresholdCurve").size() > 2, "the page draws this curve");
            String active = p.model().id();

            // a deliberately worse candidate: the training labels flipped, the evaluation set left true
            for (Sample s : p.samples().list(Boolean.TRUE, 1000)) {
                if (!TrainingJobs.heldOut(s.id(), SHARE)) {
                    label(url, s, s.assignedLabel().equals("ok") ? "defect" : "ok", olga);
                }
            }
            JsonNode w = train(url, admin);
            assertTrue(!w.get("comparison").get("promoted").asBoolean(), w.toString());
            assertTrue(w.get("comparison").get("candidateAccuracy").asDouble()
                    < w.get("comparison").get("activeAccuracy").asDouble(), w.toString());
            assertEquals(active, p.model().id(), "the worse candidate does not serve");
            assertEquals(w.get("candidateId").asText(), p.registry().pointer().candidate(), "it waits for an admin");

            var second = send("POST", url + "/api/training", "", admin);
            String job2 = JSON.readTree(second.body()).get("job").asText();
            assertEquals(200, send("DELETE", url + "/api/training/" + job2, null, admin).statusCode());
            await(() -> state(url, job2, admin).matches("CANCELLED|DONE|FAILED"), Duration.ofSeconds(60),
                    "cancelled");
            assertEquals("CANCELLED", state(url, job2, admin));
            assertEquals(404, get(url + "/api/training/nope", admin).statusCode());
            assertEquals(60, p.cameraStatus().get("cam1").frames(), "inspection kept its frames");
            try (Stream<Path> left = Files.list(data.resolve("training"))) {
                assertEquals(List.of(), left.toList(), "job folders are removed when jobs end");
            }
        } finally {
            ctx.close();
        }
    }

    private static List<Sample> cam1(InspectionPipeline p) {
        return p.samples().list(null, 1000).stream().filter(s -> s.camera().equals("cam1")).toList();
    }

    private static String truth(Sample s) {
        return s.source().startsWith("defective") ? "defect" : "ok";
    }

    private static void label(String url, Sample s, String label, String[] session) throws Exception {
        var r = send("POST", url + "/api/samples/" + s.id() + "/label", "{\"label\":\"" + label + "\"}", session);
        assertEquals(200, r.statusCode(), r.body());
    }

    /** Starts a training run as an admin and waits for it to end; returns the finished job, which must be DONE. */
    static JsonNode train(String url, String[] admin) throws Exception {
        var started = send("POST", url + "/api/training", "", admin);
        assertEquals(202, started.statusCode(), started.body());
        String job = JSON.readTree(started.body()).get("job").asText();
        await(() -> state(url, job, admin).matches("DONE|FAILED|CANCELLED"), Duration.ofSeconds(240),
                "training " + job);
        JsonNode done = JSON.readTree(get(url + "/api/training/" + job, admin).body());
        assertEquals("DONE", done.get("state").asText(), done.toString());
        return done;
    }

    /** A job's state, or "?" while it cannot be read. */
    static String state(String url, String job, String[] session) {
        try {
            return JSON.readTree(get(url + "/api/training/" + job, session).body()).get("state").asText();
        } catch (Exception e) {
            return "?";
        }
    }
}
