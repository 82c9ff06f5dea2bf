package dev.vigil.app.service;

import dev.vigil.app.testing.MqttSubscriber;

import static dev.vigil.app.service.ApiClient.send;
import static dev.vigil.app.testing.Await.await;
import static dev.vigil.app.service.ServiceEndToEndTest.login;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.capture.CameraStatus;
import dev.vigil.app.testing.Mosquitto;
import dev.vigil.config.ConfigLoader;
import dev.vigil.config.ConfigStore;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Remote configuration changes over a real Mosquitto and over HTTP, against the running service: a valid change is
 * applied at once and acknowledged on {@code config/state}; an invalid one is refused with every problem and changes
 * nothing (file, version, running service); a change that breaks a camera is rolled back within the grace period; an
 * anonymous HTTP change is refused.
 */
class ConfigRemoteTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    @Test
    void changesAreAppliedRefusedOrRolledBackAndAnswered() throws Exception {
        Path frames = tmp.resolve("frames");
        ApiClient.writeFrames(frames, 4, 160, 120);
        Path data = tmp.resolve("data");
        new AccountStore(data.resolve("accounts.json")).put("admin", AccountStore.Role.ADMIN,
                "config admin pass".toCharArray());
        try (Mosquitto broker = Mosquitto.launch()) {
            Path file = tmp.resolve("vigil.yml");
            Files.writeString(file, String.join("\n",
                    "schemaVersion: 2",
                    "device: { id: cfg }",
                    "cameras:",
                    "  - id: cam1",
                    "    source: { type: folder, path: '" + frames + "', fps: 5, loop: true }",
                    "mqtt: { url: '" + broker.url() + "', acceptCommands: true }",
                    "storage: { dir: '" + data + "' }",
                    "web: { port: 0, host: 127.0.0.1 }",
                    "changes: { graceSeconds: 6 }",
                    ""));
            ConfigStore store = ServeCommand.openStore(file);
            ApplicationContext ctx = ServeCommand.start(store.current().config(), store);
            try (MqttSubscriber sub = new MqttSubscriber(broker.url(), "vigil/cfg/#")) {
                InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
                String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
                String stateTopic = "vigil/cfg/config/state";
                await(() -> !sub.raw(stateTopic).isEmpty(), Duration.ofSeconds(15), "the retained config state");
                assertEquals(1, last(sub, stateTopic).get("version").asInt());
                await(() -> up(p), Duration.ofSeconds(10), "cam1 up");

                // 1. a valid partial change: applied at once, acknowledged, written
                sub.publish("vigil/cfg/config/set", "{\"requestId\": \"r1\", \"config\": {\"decision\":"
                        + " {\"uncertaintyBand\": 2.5}, \"storage\": {\"flagsPerHour\": 7}}}");
                JsonNode r1 = answer(sub, stateTopic, "r1");
                assertEquals("applied", r1.get("result").asText(), r1.toString());
                assertEquals(2, r1.get("version").asInt());
                assertEquals(List.of(), JSON.convertValue(r1.get("camerasRestarted"), List.class), "hot");
                assertEquals(2.5, p.config().decision().uncertaintyBand());
                assertEquals(7, p.config().camera("cam1").orElseThrow().flagsPerHour(), "cameras inherit the cap");
                assertEquals(2.5, ConfigLoader.load(file).decision().uncertaintyBand(), "written to the file");
                byte[] good = Files.readAllBytes(file);

                // 2. an invalid change: refused with every problem, nothing changes
                sub.publish("vigil/cfg/config/set", "{\"requestId\": \"r2\", \"config\": {\"decision\":"
                        + " {\"consensus\": 0}, \"cameras\": [{\"id\": \"cam1\", \"source\": {\"fps\": -1}}]}}");
                JsonNode r2 = answer(sub, stateTopic, "r2");
                assertEquals("refused", r2.get("result").asText(), r2.toString());
                assertEquals(2, r2.get("version").asInt(), "the version in force is unchanged");
                String problems = r2.get("problems").toString();
                assertTrue(problems.contains("decision.consensus: 0") && problems.contains("cameras[0].source.fps"),
                        problems);
                assertEquals(new String(good), Files.readString(file), "the file is unchanged");
                assertEquals(1, p.config().decision().consensus());
                assertEquals(2, store.snapshots().size());

                // 3. a change that breaks the camera: applied, the camera goes down, rolled back within the grace
                sub.publish("vigil/cfg/config/set", "{\"requestId\": \"r3\", \"config\": {\"cameras\": [{\"id\":"
                        + " \"cam1\", \"source\": {\"path\": \"" + tmp.resolve("no-such-folder") + "\"}}]}}");
                await(() -> sub.messages(stateTopic).stream().filter(m -> m.path("requestId").asText().equals("r3"))
                        .anyMatch(m -> m.get("result").asText().equals("applied")), Duration.ofSeconds(10),
                        "r3 applied");
                await(() -> sub.messages(stateTopic).stream().anyMatch(m -> m.path("requestId").asText()
                        .equals("r3") && m.get("result").asText().equals("rolled-back")), Duration.ofSeconds(10),
                        "r3 rolled back within the grace period");
                JsonNode r3 = answer(sub, stateTopic, "r3");
                assertEquals(4, r3.get("version").asInt(), "the rollback is version 4: " + r3);
                assertTrue(r3.get("problems").toString().contains("cameras[0] (cam1) is down"), r3.toString());
                assertEquals(frames.toString(), p.config().camera("cam1").orElseThrow().source().path());
                assertEquals(frames.toString(), ConfigLoader.load(file).camera("cam1").orElseThrow().source().path());
                await(() -> up(p), Duration.ofSeconds(10), "cam1 up again");

                // 4. HTTP: anonymous refused; an admin's YAML change and a rollback to the factory version
                assertEquals(401, send("PUT", url + "/api/config", "web: { port: 1 }", null, null).statusCode());
                assertEquals(4, store.current().version());
                String[] admin = login(url, "admin", "config admin pass");
                var bad = send("PUT", url + "/api/config", "{\"mqtt\": {\"ulr\": \"x\"}}", admin);
                assertEquals(422, bad.statusCode(), bad.body());
                assertTrue(bad.body().contains("did you mean 'url'"), bad.body());
                var ok = send("PUT", url + "/api/config", "{\"training\": {\"autoAfterLabels\": 50},"
                        + " \"web\": {\"port\": 8099}}", admin);
                assertEquals(200, ok.statusCode(), ok.body());
                assertEquals(List.of("web"), JSON.convertValue(JSON.readTree(ok.body()).get("restartNeeded"),
                        List.class));
                assertEquals(50, p.config().training().autoAfterLabels());
                var back = send("POST", url + "/api/config/rollback/1", "", admin);
                assertEquals(200, back.statusCode(), back.body());
                assertEquals(1.0, p.config().decision().uncertaintyBand(), "the factory version again");
                JsonNode snaps = JSON.readTree(send("GET", url + "/api/config/snapshots", null, admin).body());
                assertEquals(6, snaps.size(), snaps.toString());
            } finally {
                ctx.close();
            }
        }
    }

    private static boolean up(InspectionPipeline p) {
        CameraStatus s = p.cameraStatus().get("cam1");
        return s != null && s.state() == CameraStatus.State.UP;
    }

    private static JsonNode last(MqttSubscriber sub, String topic) {
        List<JsonNode> l = sub.messages(topic);
        return l.get(l.size() - 1);
    }

    /** The latest answer to a request id, waiting for one. */
    private static JsonNode answer(MqttSubscriber sub, String topic, String id) throws Exception {
        await(() -> sub.messages(topic).stream().anyMatch(m -> m.path("requestId").asText().equals(id)),
                Duration.ofSeconds(10), "an answer to " + id);
        List<JsonNode> l = sub.messages(topic).stream().filter(m -> m.path("requestId").asText().equals(id))
                .toList();
        return l.get(l.size() - 1);
    }
}
