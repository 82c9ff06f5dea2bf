package dev.vigil.app.service;

import dev.vigil.app.testing.TestConfig;

import static dev.vigil.app.service.ApiClient.send;
import static dev.vigil.app.service.ServiceEndToEndTest.login;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.samples.Sample;
import dev.vigil.app.testing.TestModels;
import dev.vigil.config.DeviceConfig;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.core.model.ModelPackage;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo's situation on an offline machine: the active model was trained from a backbone given as a local file,
 * the configuration leaves training.backbone at its default catalog name and the model cache is empty. Log in, label,
 * Train: the job trains from the registry's copy of the active model's backbone, downloads nothing, and a candidate
 * enters the registry.
 */
class OfflineRetrainTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    @Test
    void retrainingOfflineUsesTheBackboneTheActiveModelWasTrainedFrom() throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine();
        Path pkg = TestModels.casting(tmp, "active", 0, 12, 5, 1L);
        var ref = ModelPackage.open(pkg).manifest().backbone();
        assertEquals(SharedAssets.squeezenet().toAbsolutePath().toString(), ref.file(), "where it came from");
        Path frames = tmp.resolve("frames");
        TestModels.linkFrames(SharedAssets.casting().resolve("test"), frames, 0, 8);
        Path data = tmp.resolve("data");
        AccountStore accounts = new AccountStore(data.resolve("accounts.json"));
        accounts.put("admin", AccountStore.Role.ADMIN, "admin secret 1".toCharArray());
        DeviceConfig c = TestConfig.offline("demo", data)
                .cameras(List.of(new DeviceConfig.Camera("line1", DeviceConfig.Source.folder(frames.toString(), 8,
                        false), null, "triggered")))
                .model(new DeviceConfig.ModelSettings(pkg.toString(), false))
                // the demo's defaults: training.backbone is the catalog name, the model cache is storage's own
                .training(new DeviceConfig.Training(null, null, 5, null, null, null, 0, null))
                .build();
        assertEquals("squeezenet1.1-fp16", c.training().backbone());
        ApplicationContext ctx = ServeCommand.start(c);
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            assertTrue(p.registry().backboneFile(ref.sha256()).isPresent(), "the registry kept the backbone");
            ServiceEndToEndTest.triggerOneByOne(p, "line1", 16);
            String[] admin = login(url, "admin", "admin secret 1");
            for (Sample s : p.samples().list(null, 100)) {
                String label = s.source().startsWith("defective") ? "defective" : "ok";
                assertEquals(200, send("POST", url + "/api/samples/" + s.id() + "/label", "{\"label\":\"" + label
                        + "\"}", admin).statusCode());
            }
            JsonNode done = TrainingApiTest.train(url, admin);
            assertTrue(done.hasNonNull("candidateId"), done.toString());
            assertFalse(Files.exists(data.resolve("backbones").resolve("squeezenet1.1-fp16.onnx")),
                    "nothing was downloaded into the model cache");
        } finally {
            ctx.close();
        }
    }
}
