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
import dev.vigil.app.samples.Sample;
import dev.vigil.app.testing.Mosquitto;
import dev.vigil.app.testing.MqttSubscriber;
import dev.vigil.app.testing.TestConfig;
import dev.vigil.config.DeviceConfig;
import dev.vigil.core.image.Variant;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.LabelTable;
import dev.vigil.trainer.features.PoolMode;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.trainer.train.Heads;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TransferTrainer;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A multi-task model in service: trained from a two-head CSV ({@code product}: casting impeller or KolektorSDD
 * commutator; {@code verdict}: ok or defective) on real images, it judges a camera that shows both products. Alerts
 * and inspections on a real Mosquitto carry the product head as {@code attributes}; so do the stored samples, where an
 * operator sets the product head from the API; and retraining on the device from those samples keeps both heads.
 */
class MultiTaskServiceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @TempDir
    Path tmp;

    @Test
    void alertsCarryTheOtherHeadAndOperatorsLabelItAndRetrainingKeepsIt() throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine();
        var bb = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(SharedAssets.squeezenet().toString());
        List<String> rows = new ArrayList<>(List.of("file,product,verdict"));
        Path frames = Files.createDirectories(tmp.resolve("frames"));
        for (String product : List.of("casting", "kolektor")) {
            Path root = product.equals("casting") ? SharedAssets.casting() : SharedAssets.kolektor();
            for (String verdict : List.of("ok", "defective")) {
                for (Path img : first(root.resolve("train").resolve(verdict), 8)) {
                    rows.add(img + "," + product + "," + verdict);
                }
                List<Path> test = first(root.resolve("test").resolve(verdict), 5);
                for (int i = 0; i < test.size(); i++) {
                    Files.createSymbolicLink(frames.resolve(product + "-" + verdict + "-" + i + ".jpg"), test.get(i));
                }
            }
        }
        Path csv = tmp.resolve("labels.csv");
        Files.write(csv, rows);
        LabelTable table = LabelTable.read(csv);
        Heads heads = Heads.of(table, null);
        TrainOptions o = TrainOptions.defaults().withUnfreeze(0).withEpochs(8).withFolds(0)
                .withAugment(List.of(Variant.ORIGINAL)).withTta(false).withHead(96, List.of(0, 4), PoolMode.AVGMAX);
        ModelPackage pkg;
        try (TransferTrainer t = new TransferTrainer(bb, heads.dataset(table), o, tmp.resolve("cache"), QUIET,
                heads)) {
            t.train();
            pkg = new ModelExporter(t).write(tmp.resolve("pkg"));
        }
        int frameCount = 20;
        Path data = tmp.resolve("data");
        AccountStore accounts = new AccountStore(data.resolve("accounts.json"));
        accounts.put("admin", AccountStore.Role.ADMIN, "admin secret 1".toCharArray());
        accounts.put("olga", AccountStore.Role.OPERATOR, "operator secret".toCharArray());
        try (Mosquitto broker = Mosquitto.launch();
                MqttSubscriber sub = new MqttSubscriber(broker.url(), "vigil/line7/cam1/#")) {
            // every frame once, one per trigger; every frame stored (audit share 1) so each can be labelled
            DeviceConfig c = TestConfig.device("line7")
                    .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(frames.toString(), 8,
                            false), null, "triggered")))
                    .model(new DeviceConfig.ModelSettings(pkg.dir().toString(), false))
                    .mqtt(new DeviceConfig.Mqtt(broker.url(), null, null, null, null, null, null, true, null, 60,
                            null))
                    .storage(new DeviceConfig.Storage(data.toString(), null, null, 1.0, 1000, null))
                    .web(new DeviceConfig.Web(0, "127.0.0.1"))
                    .training(new DeviceConfig.Training(SharedAssets.squeezenet().toString(), 0, 4, null, 0, 0.2, 0,
                            false))
                    .build();
            ApplicationContext ctx = ServeCommand.start(c);
            try {
                InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
                String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
                String[] olga = login(url, "olga", "operator secret");
                String[] admin = login(url, "admin", "admin secret 1");
                await(() -> p.cameraStatus().get("cam1").state() == dev.vigil.app.capture.CameraStatus.State.UP,
                        Duration.ofSeconds(30), "cam1 open");
                for (int i = 1; i <= frameCount; i++) {
                    int n = i;
                    p.trigger("cam1");
                    await(() -> p.samples().list(null, 1000).size() == n, Duration.ofSeconds(30), "frame " + n);
                }
                // every inspection carries the product head, a distribution over its two classes
                await(() -> sub.messages("vigil/line7/cam1/inspection").size() == frameCount, Duration.ofSeconds(15),
                        "an inspection per frame");
                for (JsonNode m : sub.messages("vigil/line7/cam1/inspection")) {
                    JsonNode product = m.get("attributes").get("product");
                    assertTrue(product.get("label").asText().matches("casting|kolektor"), m.toString());
                    assertEquals(1.0, product.get("probabilities").get("casting").asDouble()
                            + product.get("probabilities").get("kolektor").asDouble(), 1e-3, m.toString());
                }
                // an alert is a defect verdict with the product beside it, and the sample it names carries it too
                List<JsonNode> alerts = sub.messages("vigil/line7/cam1/alert");
                assertTrue(!alerts.isEmpty(), "some frames are defective: " + p.status());
                int right = 0;
                int total = 0;
                for (Sample s : p.samples().list(null, 1000)) {
                    String said = s.attributes().get("product").label();
                    right += s.source().startsWith(said) ? 1 : 0;
                    total++;
                }
                // an impeller and a commutator look nothing alike: the head is right on nearly every frame
                assertTrue(right >= total - 1, right + " of " + total + " samples got the right product");
                for (JsonNode a : alerts) {
                    Sample s = p.samples().get(a.get("sampleId").asText()).orElseThrow();
                    assertEquals(s.attributes().get("product").label(),
                            a.get("attributes").get("product").get("label").asText(), a.toString());
                }

                // the operator sets each head from the API; bad input names what is wrong
                Sample first = p.samples().list(null, 1000).get(0);
                String at = url + "/api/samples/" + first.id() + "/attributes";
                var bad = send("POST", at, "{\"head\":\"colour\",\"label\":\"red\"}", olga);
                assertEquals(400, bad.statusCode());
                assertTrue(bad.body().contains("no head 'colour'") && bad.body().contains("[product]"), bad.body());
                bad = send("POST", at, "{\"head\":\"product\",\"label\":\"gear\"}", olga);
                assertEquals(400, bad.statusCode());
                assertTrue(bad.body().contains("[casting, kolektor]"), bad.body());
                for (Sample s : p.samples().list(null, 1000)) {
                    String[] name = s.source().split("-");
                    var r = send("POST", url + "/api/samples/" + s.id() + "/attributes",
                            "{\"head\":\"product\",\"label\":\"" + name[0] + "\"}", olga);
                    assertEquals(200, r.statusCode(), r.body());
                    assertEquals(name[0], JSON.readTree(r.body()).get("assignedAttributes").get("product").asText());
                    r = send("POST", url + "/api/samples/" + s.id() + "/label", "{\"label\":\"" + name[1] + "\"}",
                            olga);
                    assertEquals(200, r.statusCode(), r.body());
                }
                JsonNode sample = JSON.readTree(get(url + "/api/samples/" + first.id(), olga).body());
                assertEquals(first.source().split("-")[0], sample.get("assignedAttributes").get("product").asText());

                // retraining on the device from those samples: a label table, and a candidate with both heads
                JsonNode done = TrainingApiTest.train(url, admin);
                String candidate = done.get("candidateId").asText();
                JsonNode manifest = JSON.readTree(get(url + "/api/models/" + candidate, admin).body()).get("manifest");
                JsonNode out = manifest.get("output");
                assertEquals("verdict", out.get("verdictHead").asText(), out.toString());
                JsonNode product = null;
                for (JsonNode h : out.get("heads")) {
                    product = h.get("name").asText().equals("product") ? h : product;
                }
                assertTrue(product != null, "the product head: " + out);
                assertEquals("probabilities_product", product.get("tensor").asText());
                assertEquals("[\"casting\",\"kolektor\"]", product.get("labels").toString());
            } finally {
                ctx.close();
            }
        }
    }

    private static List<Path> first(Path dir, int n) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().limit(n).map(Path::toAbsolutePath).toList();
        }
    }
}
