package dev.vigil.app.service;

import static dev.vigil.app.service.ApiClient.send;
import static dev.vigil.app.service.ServiceEndToEndTest.await;
import static dev.vigil.app.service.ServiceEndToEndTest.get;
import static dev.vigil.app.service.ServiceEndToEndTest.login;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.samples.Sample;
import dev.vigil.config.DeviceConfig;
import dev.vigil.trainer.SharedAssets;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Collect → label through the API → train in the background on all but the held-out evaluation share → the
 * candidate, evaluated, goes into service when nothing better serves; a second job cancelled; operators may not start
 * training. Real casting images and the real SqueezeNet.
 */
class TrainingApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    @Test
    void labelledSamplesTrainACandidateInTheBackground() throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine();
        Path casting = SharedAssets.casting().resolve("test");
        Path frames = tmp.resolve("frames");
        Files.createDirectories(frames);
        for (String cls : List.of("defective", "ok")) {
            List<Path> imgs;
            try (Stream<Path> s = Files.list(casting.resolve(cls))) {
                imgs = s.sorted().limit(10).toList();
            }
            for (int i = 0; i < imgs.size(); i++) {
                Files.createSymbolicLink(frames.resolve(String.format("%s-%02d.jpeg", cls, i)),
                        imgs.get(i).toAbsolutePath());
            }
        }
        Path data = tmp.resolve("data");
        AccountStore accounts = new AccountStore(data.resolve("accounts.json"));
        accounts.put("admin", AccountStore.Role.ADMIN, "admin secret 1".toCharArray());
        accounts.put("olga", AccountStore.Role.OPERATOR, "operator secret".toCharArray());
        DeviceConfig c = new DeviceConfig(null, new DeviceConfig.Device("line4"), List.of(new DeviceConfig.Camera(
                "cam1", DeviceConfig.Source.folder(frames.toString(), 5, false), null, null)), null, null,
                new DeviceConfig.Mqtt("tcp://127.0.0.1:9", null, null, null, null, null, null, null, 60),
                new DeviceConfig.Storage(data.toString(), null, null, null, null, null),
                new DeviceConfig.Web(0, "127.0.0.1"),
                new DeviceConfig.Training(SharedAssets.squeezenet().toString(), 0, 8, null));
        ApplicationContext ctx = ServeCommand.start(c);
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            await(() -> p.samples().count() == 20, Duration.ofSeconds(30), "20 frames collected");
            String[] olga = login(url, "olga", "operator secret");
            for (Sample s : p.samples().list(null, 100)) {
                String label = s.source().startsWith("defective") ? "defect" : "ok";
                assertEquals(200, send("POST", url + "/api/samples/" + s.id() + "/label", "{\"label\":\"" + label
                        + "\"}", olga).statusCode());
            }
            assertEquals(403, send("POST", url + "/api/training", "", olga).statusCode(), "operators cannot train");

            String[] admin = login(url, "admin", "admin secret 1");
            var started = send("POST", url + "/api/training", "", admin);
            assertEquals(202, started.statusCode(), started.body());
            String job = JSON.readTree(started.body()).get("job").asText();
            await(() -> state(url, job).matches("DONE|FAILED|CANCELLED"), Duration.ofSeconds(180), "training done");
            JsonNode done = JSON.readTree(get(url + "/api/training/" + job).body());
            assertEquals("DONE", done.get("state").asText(), done.toString());
            JsonNode cmp = done.get("comparison");
            int evalImages = cmp.get("evaluationImages").asInt();
            assertEquals(20, done.get("images").get("defect").asInt() + done.get("images").get("ok").asInt()
                    + evalImages, "every labelled sample is either trained on or held out for evaluation");
            assertTrue(evalImages > 0 && evalImages < 10, "about a fifth held out: " + evalImages);
            String candidate = done.get("candidateId").asText();
            // no model was active: a candidate that could be evaluated goes into service
            assertTrue(cmp.get("promoted").asBoolean(), cmp.toString());
            assertEquals(candidate, p.registry().pointer().active());
            assertEquals(candidate, p.model().id(), "promoted by a hot swap, without a restart");

            // a deliberately worse candidate: the training labels flipped, the evaluation set left true
            for (Sample s : p.samples().list(Boolean.TRUE, 100)) {
                if (!dev.vigil.app.training.TrainingJobs.heldOut(s.id())) {
                    String flipped = s.assignedLabel().equals("ok") ? "defect" : "ok";
                    assertEquals(200, send("POST", url + "/api/samples/" + s.id() + "/label", "{\"label\":\""
                            + flipped + "\"}", olga).statusCode());
                }
            }
            String worse = JSON.readTree(send("POST", url + "/api/training", "", admin).body()).get("job").asText();
            await(() -> state(url, worse).matches("DONE|FAILED|CANCELLED"), Duration.ofSeconds(180), "worse done");
            JsonNode w = JSON.readTree(get(url + "/api/training/" + worse).body());
            assertEquals("DONE", w.get("state").asText(), w.toString());
            assertTrue(!w.get("comparison").get("promoted").asBoolean(), w.toString());
            assertTrue(w.get("comparison").get("candidateAccuracy").asDouble()
                    < w.get("comparison").get("activeAccuracy").asDouble(), w.toString());
            assertEquals(candidate, p.model().id(), "the worse candidate does not serve");
            assertEquals(w.get("candidateId").asText(), p.registry().pointer().candidate(), "it waits for an admin");

            var second = send("POST", url + "/api/training", "", admin);
            String job2 = JSON.readTree(second.body()).get("job").asText();
            assertEquals(200, send("DELETE", url + "/api/training/" + job2, null, admin).statusCode());
            await(() -> state(url, job2).matches("CANCELLED|DONE|FAILED"), Duration.ofSeconds(60), "cancelled");
            assertEquals("CANCELLED", state(url, job2));
            assertEquals(404, get(url + "/api/training/nope").statusCode());
            assertTrue(p.cameraStatus().get("cam1").frames() == 20, "inspection kept its frames");
        } finally {
            ctx.close();
        }
    }

    private static String state(String url, String job) {
        try {
            return JSON.readTree(get(url + "/api/training/" + job).body()).get("state").asText();
        } catch (Exception e) {
            return "?";
        }
    }

}
