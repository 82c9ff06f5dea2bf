package dev.vigil.app.service;

import static dev.vigil.app.service.ApiClient.send;
import static dev.vigil.app.service.ServiceEndToEndTest.get;
import static dev.vigil.app.service.ServiceEndToEndTest.login;
import static dev.vigil.app.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.mqtt.DriftPayload;
import dev.vigil.app.testing.Mosquitto;
import dev.vigil.app.testing.MqttSubscriber;
import dev.vigil.app.testing.TestConfig;
import dev.vigil.config.DeviceConfig;
import dev.vigil.core.image.Variant;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.bench.Shift;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.features.PoolMode;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TransferTrainer;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A camera whose lamp dimmed (casting parts at 0.6 brightness) in front of a model trained on normal ones: the drift
 * watch raises the camera's alarm (status and the retained MQTT state on a real Mosquitto), and an admin adapts the
 * model to that camera from the API: its frames are collected, {@code vigil adapt} runs in a process of its own, and
 * the result is a candidate that names its source.
 */
class DriftAdaptServiceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @TempDir
    Path tmp;

    @Test
    void aDimmedCameraRaisesTheDriftAlarmAndAnAdminAdaptsTheModelToIt() throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine();
        var bb = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(SharedAssets.squeezenet().toString());
        Path train = SharedAssets.subset(SharedAssets.casting().resolve("train"), tmp.resolve("train"), 0, 20);
        TrainOptions o = TrainOptions.defaults().withUnfreeze(0).withEpochs(10).withFolds(0)
                .withAugment(List.of(Variant.ORIGINAL)).withTta(false).withHead(0, List.of(0, 4), PoolMode.AVGMAX);
        ModelPackage pkg;
        try (TransferTrainer t = new TransferTrainer(bb, ImageDataset.scan(train, 2), o, tmp.resolve("cache"),
                QUIET)) {
            t.train();
            pkg = new ModelExporter(t).write(tmp.resolve("pkg"));
        }
        Path dim = tmp.resolve("dim"); // one folder: a folder camera plays the files in it
        Path test = SharedAssets.subset(SharedAssets.casting().resolve("test"), tmp.resolve("test"), 0, 15);
        Shift.DARKER.applyTree(test.resolve("ok"), dim);
        Shift.DARKER.applyTree(test.resolve("defective"), dim);
        Path data = tmp.resolve("data");
        AccountStore accounts = new AccountStore(data.resolve("accounts.json"));
        accounts.put("admin", AccountStore.Role.ADMIN, "admin secret 1".toCharArray());
        accounts.put("olga", AccountStore.Role.OPERATOR, "operator secret".toCharArray());
        try (Mosquitto broker = Mosquitto.launch();
                MqttSubscriber sub = new MqttSubscriber(broker.url(), "vigil/line1/cam1/drift/#")) {
            DeviceConfig c = TestConfig.device("line1")
                    .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(dim.toString(), 8,
                            true), null, null)))
                    .model(new DeviceConfig.ModelSettings(pkg.dir().toString(), false))
                    .mqtt(new DeviceConfig.Mqtt(broker.url(), null, null, null, null, null, null, null, null, 60,
                            null))
                    .storage(new DeviceConfig.Storage(data.toString(), null, null, 0.0, null, null))
                    .web(new DeviceConfig.Web(0, "127.0.0.1"))
                    .drift(new DeviceConfig.Drift(true, 10, 4.0))
                    .build();
            ApplicationContext ctx = ServeCommand.start(c);
            try {
                InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
                String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
                String[] admin = login(url, "admin", "admin secret 1");
                String[] olga = login(url, "olga", "operator secret");
                String active = p.model().id();

                try {
                    await(() -> p.drift().state("cam1") != null && p.drift().state("cam1").alarm(),
                            Duration.ofSeconds(60), "the drift alarm on the dimmed camera");
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + ": " + p.drift().state("cam1") + ", model "
                            + p.model().modelPackage().manifest().output() + ", " + p.status(), e);
                }
                JsonNode status = JSON.readTree(get(url + "/api/status", admin).body());
                JsonNode drift = status.get("cameras").get(0).get("drift");
                assertTrue(drift.get("alarm").asBoolean(), status.toString());
                assertTrue(drift.get("score").asDouble() >= 4.0, status.toString());
                await(() -> sub.messages("vigil/line1/cam1/drift/alert").stream()
                        .anyMatch(m -> m.get("event").asText().equals("raised")), Duration.ofSeconds(15),
                        "the drift alert on MQTT");
                JsonNode state = sub.messages("vigil/line1/cam1/drift").get(sub.messages("vigil/line1/cam1/drift")
                        .size() - 1);
                assertEquals(DriftPayload.SCHEMA, state.get("schema").asText());
                assertTrue(state.get("alarm").asBoolean(), state.toString());
                String metrics = get(url + "/prometheus", admin).body();
                assertTrue(metrics.contains("vigil_drift_score{camera=\"cam1\"}"), "the score is a metric");

                String body = "{\"camera\":\"cam1\",\"frames\":20}";
                assertEquals(403, send("POST", url + "/api/training/adapt", body, olga).statusCode(),
                        "operators cannot adapt the model");
                assertEquals(400, send("POST", url + "/api/training/adapt", "{\"camera\":\"cam9\"}", admin)
                        .statusCode());
                var started = send("POST", url + "/api/training/adapt", body, admin);
                assertEquals(202, started.statusCode(), started.body());
                String job = JSON.readTree(started.body()).get("job").asText();
                await(() -> TrainingApiTest.state(url, job, admin).matches("DONE|FAILED|CANCELLED"),
                        Duration.ofSeconds(180), "the adaptation");
                JsonNode done = JSON.readTree(get(url + "/api/training/" + job, admin).body());
                assertEquals("DONE", done.get("state").asText(), done.toString());
                String candidate = done.get("candidateId").asText();
                JsonNode detail = JSON.readTree(get(url + "/api/models/" + candidate, admin).body());
                assertEquals(active, detail.get("manifest").get("output").get("drift").get("adaptedFrom").asText());
                assertEquals(20, detail.get("report").get("adaptation").get("frames").asInt());
                assertTrue(detail.get("report").get("adaptation").get("heldOutDriftAfter").asDouble()
                        < detail.get("report").get("adaptation").get("heldOutDriftBefore").asDouble(),
                        detail.get("report").get("adaptation").toString());
            } finally {
                ctx.close();
            }
        }
    }
}
