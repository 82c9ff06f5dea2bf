package dev.vigil.app.service;

import static dev.vigil.app.service.ApiClient.send;
import static dev.vigil.app.testing.Await.await;
import static dev.vigil.app.service.ServiceEndToEndTest.copyTree;
import static dev.vigil.app.service.ServiceEndToEndTest.get;
import static dev.vigil.app.service.ServiceEndToEndTest.login;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.registry.ModelRegistry;
import dev.vigil.app.testing.TestModels;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.core.model.ModelPackage;
import java.io.File;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service as its own process, killed with SIGKILL in the middle of a training run and in the middle of
 * promotions and rollbacks: after each restart the registry is consistent (its files parse, the pointer names known,
 * verifiable versions), the model that serves is the registry's active one, and a killed training run leaves no
 * candidate and no scratch folder behind.
 */
class ServiceCrashTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;
    private Process service;

    @Test
    void sigkillDuringTrainingAndDuringPromotionLeavesTheRegistryConsistent() throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine();
        Path modelA = TestModels.casting(tmp, "model-a", 0, 8, 5, 1);
        Path modelB = TestModels.casting(tmp, "model-b", 8, 8, 5, 2);
        String a = ModelPackage.open(modelA).manifest().id();
        String b = ModelPackage.open(modelB).manifest().id();
        Path frames = tmp.resolve("frames");
        TestModels.linkFrames(SharedAssets.casting().resolve("test"), frames, 0, 8);
        Path inbox = tmp.resolve("inbox");
        copyTree(modelA, inbox);
        Path data = tmp.resolve("data");
        new AccountStore(data.resolve("accounts.json")).put("admin", AccountStore.Role.ADMIN,
                "crash test admin".toCharArray());
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String url = "http://127.0.0.1:" + port;
        Path config = tmp.resolve("vigil.yml");
        Files.writeString(config, String.join("\n",
                "schemaVersion: 1",
                "device: { id: crash }",
                "cameras:",
                "  - id: cam1",
                "    source: { type: folder, path: '" + frames + "', fps: 4, loop: true }",
                "model: { package: '" + inbox + "', device: cpu, watch: true }",
                "mqtt: { url: 'tcp://127.0.0.1:9' }",
                "storage: { dir: '" + data + "', auditShare: 1.0, flagsPerHour: 1000 }",
                "web: { port: " + port + ", host: 127.0.0.1 }",
                "training: { backbone: '" + SharedAssets.squeezenet() + "', epochs: 200, shadowFrames: 0,"
                        + " learningCurve: false }",
                ""));
        try {
            // 1. killed while training: the candidate never appears, the active model serves on
            startService(config, url);
            await(() -> serving(url).equals(a), Duration.ofSeconds(30), "model A serving");
            String[] admin = login(url, "admin", "crash test admin");
            await(() -> unlabelled(url).size() >= 16, Duration.ofSeconds(30), "16 samples flagged");
            for (JsonNode s : unlabelled(url)) {
                String label = s.get("source").asText().startsWith("defective") ? "defective" : "ok";
                assertEquals(200, send("POST", url + "/api/samples/" + s.get("id").asText() + "/label",
                        "{\"label\":\"" + label + "\"}", admin).statusCode());
            }
            var started = send("POST", url + "/api/training", "", admin);
            assertEquals(202, started.statusCode(), started.body());
            String job = JSON.readTree(started.body()).get("job").asText();
            await(() -> progress(url, job).startsWith("training:"), Duration.ofSeconds(120), "training in its epochs");
            assertTrue(Files.isDirectory(data.resolve("training").resolve(job)), "the run's scratch folder");
            // the serving process carries only serving: ONNX Runtime, and no libtorch even while a training runs
            String maps = Files.readString(Path.of("/proc", Long.toString(service.pid()), "maps"));
            assertTrue(maps.contains("onnxruntime"), "ONNX Runtime is loaded in the serving process");
            assertFalse(maps.contains("libtorch"), "libtorch is not loaded in the serving process");
            kill();
            ModelRegistry.Pointer p = consistentRegistry(data, Set.of(a));
            assertEquals(new ModelRegistry.Pointer(a, null, null), p, "no candidate from a killed run");
            startService(config, url);
            await(() -> serving(url).equals(a), Duration.ofSeconds(30), "model A serving after the restart");
            try (Stream<Path> left = Files.list(data.resolve("training"))) {
                assertEquals(List.of(), left.toList(), "the killed run's folder is tidied at start");
            }
            assertEquals(200, get(url + "/health/readiness").statusCode());

            // 2. killed during promotions: B arrives in the inbox, then rollbacks flip A <-> B until the kill
            for (String f : List.of(ModelPackage.MODEL, ModelPackage.REPORT, ModelPackage.MANIFEST)) {
                Files.copy(modelB.resolve(f), inbox.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            await(() -> serving(url).equals(b), Duration.ofSeconds(30), "model B installed from the inbox");
            for (int round = 0; round < 3; round++) {
                if (round > 0) {
                    startService(config, url);
                }
                String[] s = login(url, "admin", "crash test admin");
                AtomicBoolean stop = new AtomicBoolean();
                Thread flipper = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            send("POST", url + "/api/models/rollback", "", s);
                        } catch (Exception e) {
                            return; // the service is gone
                        }
                    }
                });
                flipper.start();
                Thread.sleep(300 + ThreadLocalRandom.current().nextInt(700));
                kill();
                stop.set(true);
                flipper.join(10_000);
                ModelRegistry.Pointer after = consistentRegistry(data, Set.of(a, b));
                assertTrue(Set.of(a, b).contains(after.active()), "an active model after the kill: " + after);
                assertEquals(after.active().equals(a) ? b : a, after.previous(), "the other one to roll back to");
                startService(config, url);
                await(() -> serving(url).equals(after.active()), Duration.ofSeconds(30),
                        "the registry's active model " + after.active() + " serves after the restart");
                kill();
            }
        } finally {
            if (service != null) {
                service.destroyForcibly();
            }
        }
    }

    /** Opens the registry as a restart would, and checks every version it lists verifies. */
    private static ModelRegistry.Pointer consistentRegistry(Path data, Set<String> expected) throws Exception {
        ModelRegistry r = new ModelRegistry(data.resolve("models"));
        assertEquals(expected, Set.copyOf(r.entries().stream().map(ModelRegistry.Entry::id).toList()),
                "the versions listed: " + r.entries());
        for (ModelRegistry.Entry e : r.entries()) {
            ModelPackage.open(r.packageDir(e.id()));
        }
        try (Stream<Path> s = Files.list(data.resolve("models").resolve("versions"))) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().startsWith(".")), "no half-copied version");
        }
        return r.pointer();
    }

    /** An admin session of the service process running now. */
    private String[] session;

    private void startService(Path config, String url) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        File log = tmp.resolve("service.log").toFile();
        service = new ProcessBuilder(java, "-Xmx1500m", "-Dai.djl.offline=true",
                "-cp", System.getProperty("java.class.path"),
                "dev.vigil.app.Vigil", "serve", "--config", config.toString()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log)).start();
        try {
            await(() -> {
                try {
                    return get(url + "/health/liveness").statusCode() == 200;
                } catch (Exception e) {
                    return false;
                }
            }, Duration.ofSeconds(60), "the service answering on " + url);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; its log: " + Files.readString(log.toPath()), e);
        }
        session = login(url, "admin", "crash test admin"); // sessions do not outlive the process
    }

    private void kill() throws Exception {
        service.destroyForcibly(); // SIGKILL: no shutdown hook runs
        assertTrue(service.waitFor(20, TimeUnit.SECONDS), "the service died");
    }

    private String serving(String url) {
        try {
            JsonNode m = JSON.readTree(get(url + "/api/models", session).body());
            return m.path("serving").asText("");
        } catch (Exception e) {
            return "";
        }
    }

    private List<JsonNode> unlabelled(String url) {
        try {
            JsonNode l = JSON.readTree(get(url + "/api/samples?status=unlabelled&limit=1000", session).body());
            List<JsonNode> out = new java.util.ArrayList<>();
            l.forEach(out::add);
            return out;
        } catch (Exception e) {
            return List.of();
        }
    }

    private String progress(String url, String job) {
        try {
            return JSON.readTree(get(url + "/api/training/" + job, session).body()).path("progress").asText("");
        } catch (Exception e) {
            return "";
        }
    }
}
