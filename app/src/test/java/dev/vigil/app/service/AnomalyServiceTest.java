package dev.vigil.app.service;

import dev.vigil.app.testing.TestConfig;

import static dev.vigil.app.service.ApiClient.send;
import static dev.vigil.app.service.ServiceEndToEndTest.get;
import static dev.vigil.app.service.ServiceEndToEndTest.login;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.samples.Sample;
import dev.vigil.app.testing.TestModels;
import dev.vigil.config.DeviceConfig;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.anomaly.AnomalyExporter;
import dev.vigil.trainer.anomaly.AnomalyOptions;
import dev.vigil.trainer.anomaly.AnomalyTrainer;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.ImageDataset;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Day one on a new line: the service serves a model built from good castings alone (the real SqueezeNet, real casting
 * images), flags the castings unlike them with a heatmap, and retraining on the device builds a memory of good parts
 * from good labels alone, then a supervised head with that memory beside it once defects are labelled.
 */
class AnomalyServiceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int OK_FRAMES = 24;
    private static final int DEFECT_FRAMES = 10;
    @TempDir
    Path tmp;

    @Test
    void aModelFromGoodPartsFlagsDefectsFromDayOneAndRetrainingPicksTheKindOfModelTheLabelsAllow() throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine();
        // the day-one package: 30 good castings, nothing else
        Path good = SharedAssets.subset(SharedAssets.casting().resolve("train"), tmp.resolve("good"), 0, 30);
        dev.vigil.core.Folders.deleteTree(good.resolve("defective"));
        var squeezenet = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(
                SharedAssets.squeezenet().toString());
        Path pkg = new AnomalyExporter(new AnomalyTrainer(squeezenet, ImageDataset.scan(good, 2),
                AnomalyOptions.defaults(), new PrintStream(OutputStream.nullOutputStream())).train())
                .write(tmp.resolve("day-one")).dir();

        Path frames = tmp.resolve("frames");
        TestModels.linkFrames(SharedAssets.casting().resolve("test"), frames, 0, OK_FRAMES);
        try (var s = java.nio.file.Files.list(frames)) { // keep the first DEFECT_FRAMES defective frames
            for (Path f : s.filter(f -> f.getFileName().toString().startsWith("defective")).sorted().skip(DEFECT_FRAMES)
                    .toList()) {
                java.nio.file.Files.delete(f);
            }
        }
        Path data = tmp.resolve("data");
        AccountStore accounts = new AccountStore(data.resolve("accounts.json"));
        accounts.put("admin", AccountStore.Role.ADMIN, "admin secret 1".toCharArray());
        accounts.put("olga", AccountStore.Role.OPERATOR, "operator secret".toCharArray());
        DeviceConfig c = TestConfig.offline("line5", data)
                // triggered: one frame per trigger, so none is dropped however slow a shared machine is
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(frames.toString(), 8,
                        false), null, "triggered")))
                .model(new DeviceConfig.ModelSettings(pkg.toString(), false))
                // (offline(): every ok frame is flagged for audit too, so the good ones can be labelled)
                // a tenth held out for evaluation (by a hash of the sample id): the 24 good ones leave at least 10 to
                // train on, as a model from good parts alone needs (the odds of fewer are below 1e-7)
                .training(new DeviceConfig.Training(SharedAssets.squeezenet().toString(), 0, 8, null, 0, 0.1, 0,
                        true).withLearningCurve(false))
                .build();
        ApplicationContext ctx = ServeCommand.start(c);
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            assertEquals("anomaly", p.model().modelPackage().manifest().training().head());
            int frameCount = OK_FRAMES + DEFECT_FRAMES;
            ServiceEndToEndTest.triggerOneByOne(p, "cam1", frameCount);
            List<Sample> all = p.samples().list(null, 1000);
            List<Sample> defects = all.stream().filter(s -> s.source().startsWith("defective")).toList();
            List<Sample> oks = all.stream().filter(s -> s.source().startsWith("ok")).toList();
            long caught = defects.stream().filter(s -> !s.reason().equals("audit")).count();
            long falseAlarms = oks.stream().filter(s -> !s.reason().equals("audit")).count();
            System.out.printf("day one, anomaly model from 30 good castings: %d of %d defective frames flagged as"
                    + " defect or uncertain, %d of %d good ones%n", caught, defects.size(), falseAlarms, oks.size());
            // measured: 8 of 10, 0 of 16 good ones (the first 16 of these 24) (a threshold placed for 1% false rejects on 30 good images)
            assertTrue(caught >= DEFECT_FRAMES / 2, caught + " of " + DEFECT_FRAMES + " defective castings flagged: "
                    + defects);
            assertTrue(falseAlarms <= 3, falseAlarms + " of " + OK_FRAMES + " good castings flagged: " + oks);
            for (Sample s : defects) {
                if (!s.reason().equals("audit")) {
                    assertNotNull(s.heatmap(), "a flagged frame keeps its heatmap: " + s);
                    assertEquals("anomaly", s.label(), s.toString());
                }
            }

            String[] olga = login(url, "olga", "operator secret");
            String[] admin = login(url, "admin", "admin secret 1");
            JsonNode classes = JSON.readTree(get(url + "/api/classes", olga).body());
            assertFalse(classes.toString().contains("\"anomaly\""), "not a class to label with: " + classes);
            assertTrue(classes.toString().contains("\"defect\""), classes.toString());

            // good labels alone: the device builds a memory of good parts
            for (Sample s : oks) {
                label(url, s, "ok", olga);
            }
            JsonNode first = TrainingApiTest.train(url, admin);
            assertEquals("anomaly", head(url, first, admin));
            // defects labelled too: the supervised head with the memory of good parts beside it
            for (Sample s : defects) {
                label(url, s, "defect", olga);
            }
            JsonNode second = TrainingApiTest.train(url, admin);
            assertEquals("pooled+anomaly", head(url, second, admin));
            JsonNode detail = JSON.readTree(get(url + "/api/models/" + second.get("candidateId").asText(), admin)
                    .body());
            assertEquals(List.of("defect", "ok", "anomaly"), JSON.convertValue(detail.at("/manifest/labels"),
                    List.class), detail.toString());
        } finally {
            ctx.close();
        }
    }

    private static String head(String url, JsonNode job, String[] session) throws Exception {
        JsonNode detail = JSON.readTree(get(url + "/api/models/" + job.get("candidateId").asText(), session).body());
        return detail.at("/manifest/training/head").asText();
    }

    private static void label(String url, Sample s, String label, String[] session) throws Exception {
        var r = send("POST", url + "/api/samples/" + s.id() + "/label", "{\"label\":\"" + label + "\"}", session);
        assertEquals(200, r.statusCode(), r.body());
    }
}
