package dev.vigil.app.service;

import dev.vigil.app.testing.TestConfig;

import dev.vigil.app.testing.MqttSubscriber;

import static dev.vigil.app.testing.Await.await;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.decision.DecisionPolicy;
import dev.vigil.app.decision.Verdict;
import dev.vigil.app.samples.Sample;
import dev.vigil.app.testing.Mosquitto;
import dev.vigil.config.DeviceConfig;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.core.image.ImageIo;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.model.OrtClassifier;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TransferTrainer;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.PrintStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service end to end with real parts: casting images from ../shared replayed by a folder camera, a model package
 * trained in the test, a real Mosquitto, the Micronaut service over HTTP.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ServiceEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PER_CLASS = 6;
    @TempDir
    static Path tmp;
    private Path model;
    private Path otherModel;
    private Path frames;
    /** What the package says about each frame file, computed independently of the service. */
    private final Map<String, Verdict> expected = new HashMap<>();
    private final Map<String, Boolean> defective = new HashMap<>();

    /** (No cross-validation folds: the expected verdicts are computed from the package itself, whatever its point.) */
    @BeforeAll
    void trainAModelAndPrepareFrames() throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine();
        Path casting = SharedAssets.casting();
        Path train = SharedAssets.subset(casting.resolve("train"), tmp.resolve("train"), 0, 30);
        Backbone bb = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(
                SharedAssets.squeezenet().toString());
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        try (TransferTrainer t = new TransferTrainer(bb, ImageDataset.scan(train, 2),
                TrainOptions.defaults().withUnfreeze(0).withEpochs(15).withFolds(0), tmp.resolve("features"), quiet)) {
            t.train();
            model = new ModelExporter(t).write(tmp.resolve("model")).dir();
        }
        try (TransferTrainer t = new TransferTrainer(bb, ImageDataset.scan(train, 2),
                TrainOptions.defaults().withUnfreeze(0).withEpochs(15).withSeed(43).withFolds(0),
                tmp.resolve("features"), quiet)) {
            t.train();
            otherModel = new ModelExporter(t).write(tmp.resolve("other-model")).dir();
        }
        frames = tmp.resolve("frames");
        Files.createDirectories(frames);
        ModelPackage pkg = ModelPackage.open(model);
        DecisionPolicy policy = new DecisionPolicy(pkg.manifest().labels(), pkg.okIndex(), pkg.defectThreshold(),
                DeviceConfig.defaults().decision().uncertaintyBand());
        try (OrtClassifier clf = new OrtClassifier(pkg)) {
            int n = 0;
            for (String cls : List.of("def_front", "ok_front")) {
                List<Path> imgs;
                try (Stream<Path> s = Files.list(casting.resolve("test").resolve(cls.startsWith("def") ? "defective"
                        : "ok"))) {
                    imgs = s.sorted().limit(PER_CLASS).toList();
                }
                for (Path img : imgs) {
                    String name = String.format("%02d-%s", n++, img.getFileName());
                    Files.createSymbolicLink(frames.resolve(name), img.toAbsolutePath());
                    float[] p = clf.classify(ImageIo.read(img), img.toString());
                    expected.put(name, policy.decide(p).verdict());
                    defective.put(name, cls.startsWith("def"));
                }
            }
        }
    }

    private DeviceConfig config(String url, Path data, Path framesDir, String packageDir) {
        return TestConfig.device("line1")
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(framesDir.toString(), 2,
                        false), null, null)))
                .model(new DeviceConfig.ModelSettings(packageDir, true))
                .mqtt(new DeviceConfig.Mqtt(url, null, null, null, null, null, null, null, null, 1,
                        null).withAcceptCommands(true))
                .storage(new DeviceConfig.Storage(data.toString(), null, null, 0.0, null, null))
                .web(new DeviceConfig.Web(0, "127.0.0.1"))
                .build();
    }

    @Test
    void eachDefectiveFrameYieldsOneAlertOkFramesNoneAndFlaggedSamplesLandInTheStore() throws Exception {
        try (Mosquitto broker = Mosquitto.launch();
                MqttSubscriber sub = new MqttSubscriber(broker.url(), "vigil/line1/#")) {
            Path data = tmp.resolve("e2e-data");
            viewer(data);
            ApplicationContext ctx = ServeCommand.start(config(broker.url(), data, frames, model.toString()));
            try {
                InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
                try {
                    await(() -> p.cameraStatus().get("cam1").state().name().equals("FINISHED"),
                            Duration.ofSeconds(60), "camera finished");
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + "; status " + p.status(), e);
                }
                await(() -> verdictCount(p) == expected.size(), Duration.ofSeconds(60), "all frames judged");
                System.err.println("e2e status: " + p.status());
                long expectedAlerts = expected.values().stream().filter(v -> v == Verdict.DEFECT).count();
                await(() -> sub.messages("vigil/line1/cam1/alert").size() >= expectedAlerts, Duration.ofSeconds(10),
                        "alerts delivered");
                Thread.sleep(500);
                List<JsonNode> alerts = sub.messages("vigil/line1/cam1/alert");
                assertEquals(expectedAlerts, alerts.size(), "one alert per frame the model calls a defect");
                assertEquals(0, p.status().cameras().get(0).dropped(), "no frame dropped at 2 frames/s");

                // the model is good enough that this is about the images, not luck: most defective frames alert,
                // (almost) no ok frame does
                long defectiveAlerted = expected.entrySet().stream().filter(e -> defective.get(e.getKey())
                        && e.getValue() == Verdict.DEFECT).count();
                long okAlerted = expected.entrySet().stream().filter(e -> !defective.get(e.getKey())
                        && e.getValue() == Verdict.DEFECT).count();
                assertTrue(defectiveAlerted >= PER_CLASS - 1, "defective frames alerted: " + defectiveAlerted);
                assertTrue(okAlerted <= 1, "ok frames alerted: " + okAlerted);

                String modelId = ModelPackage.open(model).manifest().id();
                List<String> alertedFiles = new ArrayList<>();
                for (JsonNode a : alerts) {
                    assertEquals("vigil.alert/1", a.get("schema").asText());
                    assertEquals("line1", a.get("device").asText());
                    assertEquals("cam1", a.get("camera").asText());
                    assertEquals("defect", a.get("verdict").asText());
                    assertEquals("defective", a.get("label").asText());
                    assertEquals(modelId, a.get("modelId").asText());
                    assertTrue(a.get("confidence").asDouble() > 0 && a.get("confidence").asDouble() <= 1);
                    Sample s = p.samples().get(a.get("sampleId").asText()).orElseThrow();
                    assertTrue(Files.size(p.samples().imageFile(s)) > 1000, "the flagged JPEG is on disk");
                    alertedFiles.add(s.source());
                }
                List<String> expectedFiles = expected.entrySet().stream().filter(e -> e.getValue() == Verdict.DEFECT)
                        .map(Map.Entry::getKey).sorted().toList();
                Collections.sort(alertedFiles);
                assertEquals(expectedFiles, alertedFiles, "exactly the frames the model calls defects alerted");

                long flagged = expected.values().stream().filter(v -> v != Verdict.OK).count();
                assertEquals(flagged, p.samples().count(), "defect and uncertain frames are flagged, ok ones not");

                // retained status and model state, and the HTTP face
                await(() -> !sub.messages("vigil/line1/status").isEmpty(), Duration.ofSeconds(5), "status");
                assertEquals("online", sub.raw("vigil/line1/available").get(0));
                assertEquals(modelId, sub.messages("vigil/line1/model/state").get(0).get("active").asText());
                String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
                String[] vera = login(url, "vera", "viewer secret 1");
                JsonNode health = JSON.readTree(get(url + "/health/readiness").body());
                assertEquals("UP", health.get("status").asText());
                assertEquals(401, get(url + "/api/status").statusCode(), "reads need a login too");
                HttpResponse<String> prom = get(url + "/prometheus");
                assertEquals(200, prom.statusCode());
                assertTrue(prom.body().contains("vigil_verdicts_total"), "verdict counters exported");
                assertTrue(prom.body().contains("vigil_stage_latency_seconds"), "stage latency exported");
                assertTrue(prom.body().contains("vigil_camera_fps"), "per-camera frame rate exported");
                JsonNode status = JSON.readTree(get(url + "/api/status", vera).body());
                assertEquals("inspect", status.get("mode").asText());
                assertEquals(401, post(url + "/api/cameras/cam1/trigger").statusCode(), "state changes need a login");
                assertEquals(404, get(url + "/api/samples/..%2F..%2Fetc%2Fpasswd", vera).statusCode());
            } finally {
                ctx.close();
            }
            await(() -> "offline".equals(last(sub.raw("vigil/line1/available"))), Duration.ofSeconds(5),
                    "offline on shutdown");
        }
    }

    @Test
    void corruptFramesAreCountedAndATamperedModelIsRefusedWhileTheServiceKeepsRunning() throws Exception {
        Path dir = tmp.resolve("corrupt-frames");
        Files.createDirectories(dir);
        List<String> names;
        try (Stream<Path> s = Files.list(frames)) {
            names = s.map(f -> f.getFileName().toString()).sorted().limit(4).toList();
        }
        for (String n : names) {
            Files.createSymbolicLink(dir.resolve(n), frames.resolve(n).toRealPath());
        }
        Files.write(dir.resolve("99-broken.jpg"), new byte[] {(byte) 0xff, (byte) 0xd8, 1, 2, 3});
        Path tampered = tmp.resolve("tampered");
        copyTree(model, tampered);
        byte[] onnx = Files.readAllBytes(tampered.resolve("model.onnx"));
        onnx[onnx.length / 2] ^= 0x5a;
        Files.write(tampered.resolve("model.onnx"), onnx);
        try (Mosquitto broker = Mosquitto.launch()) {
            // the tampered package: refused at start, collect mode, still running and capturing
            ApplicationContext ctx = ServeCommand.start(config(broker.url(), tmp.resolve("corrupt-data"), dir,
                    tampered.toString()));
            try {
                InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
                await(() -> p.cameraStatus().get("cam1").state().name().equals("FINISHED"), Duration.ofSeconds(30),
                        "frames replayed");
                assertEquals(1, p.cameraStatus().get("cam1").corruptFrames());
                assertEquals(null, p.model());
                assertNotNull(p.modelError());
                assertTrue(p.modelError().contains("tampered") || p.modelError().contains("hash")
                        || p.modelError().contains("SHA"), p.modelError());
                String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
                assertEquals(503, get(url + "/health/readiness").statusCode(),
                        "not ready while the configured model is refused");
                // a good package swapped in by the file watch: inspection starts without a restart
                Files.walk(tampered).sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                copyTree(model, tampered);
                await(() -> p.model() != null, Duration.ofSeconds(15), "good package picked up by the watch");
                // and a tampered one later is refused while the good one keeps serving
                String goodId = p.model().id();
                assertTrue(p.swapModel(tmp.resolve("does-not-exist")) != null);
                assertEquals(goodId, p.model().id());
                assertEquals(200, get(url + "/health/readiness").statusCode());
            } finally {
                ctx.close();
            }
        }
    }

    @Test
    void alertsRaisedWhileTheBrokerIsDownArriveOnceInOrderAfterAServiceRestart() throws Exception {
        long expectedAlerts = expected.values().stream().filter(v -> v == Verdict.DEFECT).count();
        Path data = tmp.resolve("restart-data");
        try (Mosquitto broker = Mosquitto.prepared(false)) {
            List<String> journaled = new ArrayList<>();
            ApplicationContext first = ServeCommand.start(config(broker.url(), data, frames, model.toString()));
            try {
                InspectionPipeline p = first.getBean(VigilService.class).pipeline();
                await(() -> p.cameraStatus().get("cam1").state().name().equals("FINISHED")
                        && verdictCount(p) == expected.size(), Duration.ofSeconds(60), "all frames judged offline");
                await(() -> p.mqtt().alertQueueDepth() == expectedAlerts, Duration.ofSeconds(5), "alerts journaled");
                p.samples().list(null, 100).stream().filter(s -> s.verdict().equals("defect"))
                        .sorted(java.util.Comparator.comparing(Sample::time)).forEach(s -> journaled.add(s.id()));
            } finally {
                first.close();
            }
            broker.start();
            try (MqttSubscriber sub = new MqttSubscriber(broker.url(), "vigil/line1/+/alert")) {
                // the restarted service: same storage, a triggered camera that captures nothing by itself
                DeviceConfig c = config(broker.url(), data, frames, model.toString());
                DeviceConfig restarted = TestConfig.device(c.device())
                        .cameras(List.of(new DeviceConfig.Camera("cam1", c.cameras().get(0).source(), null,
                                "triggered")))
                        .model(c.model())
                        .mqtt(c.mqtt())
                        .storage(c.storage())
                        .web(c.web())
                        .build();
                ApplicationContext second = ServeCommand.start(restarted);
                try {
                    await(() -> sub.messages("vigil/line1/cam1/alert").size() >= expectedAlerts,
                            Duration.ofSeconds(20), "journaled alerts delivered after restart");
                    Thread.sleep(1000);
                    List<String> sampleIds = sub.messages("vigil/line1/cam1/alert").stream()
                            .map(a -> a.get("sampleId").asText()).toList();
                    assertEquals(journaled, sampleIds, "every alert exactly once, in the order raised");
                } finally {
                    second.close();
                }
            }
        }
    }

    @Test
    void aNewPackageIsInstalledByTheWatchRolledBackOverMqttAndTheRollbackSurvivesARestart() throws Exception {
        Path inbox = tmp.resolve("inbox");
        copyTree(model, inbox);
        Path data = tmp.resolve("registry-data");
        String a = ModelPackage.open(model).manifest().id();
        String b = ModelPackage.open(otherModel).manifest().id();
        try (Mosquitto broker = Mosquitto.launch();
                MqttSubscriber sub = new MqttSubscriber(broker.url(), "vigil/line1/model/state")) {
            DeviceConfig c = config(broker.url(), data, frames, inbox.toString());
            var accounts = new dev.vigil.app.auth.AccountStore(data.resolve("accounts.json"));
            accounts.put("admin", dev.vigil.app.auth.AccountStore.Role.ADMIN, "admin secret 1".toCharArray());
            accounts.put("olga", dev.vigil.app.auth.AccountStore.Role.OPERATOR, "operator secret".toCharArray());
            ApplicationContext ctx = ServeCommand.start(c);
            try {
                InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
                assertEquals(a, p.model().id());
                // a new package copied into the configured folder goes into service without a restart
                for (String f : List.of(ModelPackage.MODEL, ModelPackage.REPORT, ModelPackage.MANIFEST)) {
                    Files.copy(otherModel.resolve(f), inbox.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
                await(() -> p.model() != null && p.model().id().equals(b), Duration.ofSeconds(15), "watch installs B");
                assertEquals(new dev.vigil.app.registry.ModelRegistry.Pointer(b, a, null), p.registry().pointer());
                // rollback over MQTT, one step
                await(() -> p.mqtt().connected(), Duration.ofSeconds(10), "connected");
                MqttClient cmd = new MqttClient(broker.url(), "test-model-cmd", new MemoryPersistence());
                cmd.connect();
                cmd.publish("vigil/line1/model/set", new org.eclipse.paho.mqttv5.common.MqttMessage(
                        "{\"action\":\"rollback\"}".getBytes()));
                await(() -> p.model().id().equals(a), Duration.ofSeconds(10), "rolled back to A");
                await(() -> {
                    List<JsonNode> states = sub.messages("vigil/line1/model/state");
                    return !states.isEmpty() && states.get(states.size() - 1).get("active").asText().equals(a)
                            && states.get(states.size() - 1).get("previous").asText().equals(b);
                }, Duration.ofSeconds(5), "model/state says A active, B previous");
                cmd.disconnect();
                cmd.close();
                // and over HTTP: operators may not promote, admins may; rollback returns in one step
                String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
                String[] olga = login(url, "olga", "operator secret");
                assertEquals(403, postAs(url + "/api/models/" + b + "/promote", olga).statusCode());
                assertEquals(a, p.model().id(), "a refused promotion changes nothing");
                String[] admin = login(url, "admin", "admin secret 1");
                JsonNode models = JSON.readTree(get(url + "/api/models", admin).body());
                assertEquals(2, models.get("models").size());
                assertEquals(a, models.get("serving").asText());
                assertEquals(404, postAs(url + "/api/models/nope/promote", admin).statusCode());
                assertEquals(200, postAs(url + "/api/models/" + b + "/promote", admin).statusCode());
                assertEquals(b, p.model().id());
                assertEquals(200, postAs(url + "/api/models/rollback", admin).statusCode());
                assertEquals(a, p.model().id());
            } finally {
                ctx.close();
            }
            // the folder still holds B, but B is known: the registry's choice (A) survives the restart
            ApplicationContext again = ServeCommand.start(c);
            try {
                assertEquals(a, again.getBean(VigilService.class).pipeline().model().id());
            } finally {
                again.close();
            }
        }
    }

    /** Logs in; returns {cookie, csrf}. */
    static String[] login(String url, String name, String password) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url + "/api/login"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"name\":\"" + name + "\",\"password\":\"" + password + "\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return new String[] {r.headers().firstValue("set-cookie").orElseThrow().split(";")[0],
            JSON.readTree(r.body()).get("csrf").asText()};
    }

    static HttpResponse<String> postAs(String url, String[] session) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).header("Cookie", session[0])
                .header("X-CSRF-Token", session[1]).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String last(List<String> l) {
        return l.isEmpty() ? null : l.get(l.size() - 1);
    }

    private static long verdictCount(InspectionPipeline p) {
        return p.status().verdicts().entrySet().stream().filter(e -> !e.getKey().equals("unclassified"))
                .mapToLong(Map.Entry::getValue).sum();
    }

    /**
     * Triggers a triggered camera {@code frames} times, one frame at a time, each awaited as a new sample (so none is
     * dropped however slow the machine; every judged frame must be flagged, e.g. with an audit share of 1).
     */
    static void triggerOneByOne(InspectionPipeline p, String camera, int frames) throws InterruptedException {
        long start = p.samples().count();
        for (int i = 1; i <= frames; i++) {
            long n = start + i;
            p.trigger(camera);
            await(() -> p.samples().count() == n, Duration.ofSeconds(30), "frame " + i + " judged");
        }
    }

    /** A GET without a session (deny by default: only the open paths answer it). */
    static HttpResponse<String> get(String url) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** A GET with a {cookie, csrf} session from {@link #login}. */
    static HttpResponse<String> get(String url, String[] session) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).header("Cookie", session[0])
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Adds a viewer account {@code vera} to the data folder {@code data} and returns its password. */
    static String viewer(Path data) throws Exception {
        new dev.vigil.app.auth.AccountStore(data.resolve("accounts.json")).put("vera",
                dev.vigil.app.auth.AccountStore.Role.VIEWER, "viewer secret 1".toCharArray());
        return "viewer secret 1";
    }

    static HttpResponse<String> post(String url) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    static void copyTree(Path from, Path to) throws Exception {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path f : s.toList()) {
                Path t = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(f, t);
                }
            }
        }
    }

}
