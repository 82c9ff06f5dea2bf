package dev.vigil.app.service;

import dev.vigil.app.testing.TestConfig;

import dev.vigil.app.testing.MqttSubscriber;

import static dev.vigil.app.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.samples.Sample;
import dev.vigil.app.testing.Mosquitto;
import dev.vigil.config.DeviceConfig;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.image.OpenCv;
import dev.vigil.trainer.model.MapModels;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Point;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/**
 * Defect maps through the running service: a fixture package whose map is the input's brightness (a real two-output
 * ONNX graph, {@link MapModels}), a letterboxed 64x48 input fed 320x120 crops of 400x200 frames, a real Mosquitto and
 * the HTTP API. The bright spot's place is known, so the alert's region and the stored heatmap can be checked.
 */
class HeatmapServiceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The ROI: frames are 400x200, the inspected image is the 320x120 crop at (40, 40). */
    private static final DeviceConfig.Roi ROI = new DeviceConfig.Roi(40, 40, 320, 120);
    @TempDir
    Path tmp;

    /**
     * Writes {@code a-spot.png}: a dark 400x200 frame with a white spot over crop x 190..250, y 15..65 (frame x 230..290,
     * y 55..105), and {@code b-plain.png}, dark all over.
     */
    static Path frames(Path dir) throws Exception {
        OpenCv.load();
        Files.createDirectories(dir);
        Mat spot = new Mat(200, 400, CvType.CV_8UC3, new Scalar(30, 30, 30));
        Mat plain = spot.clone();
        Imgproc.rectangle(spot, new Point(40 + 190, 40 + 15), new Point(40 + 250, 40 + 65), new Scalar(255, 255, 255),
                -1);
        Imgcodecs.imwrite(dir.resolve("a-spot.png").toString(), spot);
        Imgcodecs.imwrite(dir.resolve("b-plain.png").toString(), plain);
        spot.release();
        plain.release();
        return dir;
    }

    /** One folder camera cropping the frames to {@link #ROI}; {@code trigger} null = continuous. */
    static DeviceConfig config(String broker, Path data, Path frames, Path pkg, String trigger) {
        return TestConfig.device("line1")
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(frames.toString(), 4,
                        false), ROI, trigger)))
                .model(new DeviceConfig.ModelSettings(pkg.toString(), false))
                .mqtt(new DeviceConfig.Mqtt(broker, null, null, null, null, null, null, true, null, 60, null))
                .storage(new DeviceConfig.Storage(data.toString(), null, null, 0.0, null, null))
                .web(new DeviceConfig.Web(0, "127.0.0.1"))
                .build();
    }

    @Test
    void aFlaggedDefectsAlertSaysWhereTheSpotIsAndItsHeatmapIsServedToOperatorsOnly() throws Exception {
        Path pkg = MapModels.write(tmp.resolve("pkg"), "map-e2e", 64, 48, Preprocessing.Fit.LETTERBOX, 8, true).dir();
        Path data = tmp.resolve("data");
        new AccountStore(data.resolve("accounts.json")).put("olga", AccountStore.Role.OPERATOR,
                "line one operator".toCharArray());
        try (Mosquitto broker = Mosquitto.launch();
                MqttSubscriber sub = new MqttSubscriber(broker.url(), "vigil/line1/#")) {
            // triggered: inspections are QoS 0 and dropped while the link is down, so frames wait for the broker
            ApplicationContext ctx = ServeCommand.start(config(broker.url(), data, frames(tmp.resolve("frames")), pkg,
                    "triggered"));
            try {
                InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
                await(() -> p.mqtt().connected(), Duration.ofSeconds(10), "connected to the broker");
                p.trigger("cam1");
                await(() -> sub.messages("vigil/line1/cam1/inspection").size() >= 1, Duration.ofSeconds(20),
                        "the first frame judged");
                p.trigger("cam1");
                await(() -> sub.messages("vigil/line1/cam1/inspection").size() >= 2, Duration.ofSeconds(20),
                        "both frames judged");
                await(() -> !sub.messages("vigil/line1/cam1/alert").isEmpty(), Duration.ofSeconds(10), "the alert");
                List<JsonNode> alerts = sub.messages("vigil/line1/cam1/alert");
                assertEquals(1, alerts.size(), "one alert: the frame with the spot");
                JsonNode alert = alerts.get(0);
                assertEquals("defect", alert.get("verdict").asText());
                JsonNode region = alert.get("region");
                assertNotNull(region, alert.toString());
                // the spot covers crop x 190..250, y 15..65; through the letterbox (scale 0.2, 12 px bars above and
                // below) it fills grid cell (5, 2), which is crop x 200..240, y 20..60
                assertEquals(200, region.get("x").asInt(), region.toString());
                assertEquals(20, region.get("y").asInt(), region.toString());
                assertEquals(40, region.get("width").asInt(), region.toString());
                assertEquals(40, region.get("height").asInt(), region.toString());
                assertTrue(contains(region, 220, 40), "the region holds the spot's centre: " + region);
                assertTrue(inside(region, 190, 15, 250, 65), "and lies on the spot: " + region);

                List<JsonNode> inspections = sub.messages("vigil/line1/cam1/inspection");
                assertTrue(inspections.stream().allMatch(i -> i.get("region").isObject()), "every verdict has a"
                        + " region when the model has a map: " + inspections);

                // the flagged sample has its heatmap beside it; ok frames are not flagged (audit share 0)
                assertEquals(1, p.samples().count());
                Sample s = p.samples().get(alert.get("sampleId").asText()).orElseThrow();
                assertNotNull(s.heatmap());
                assertEquals(new dev.vigil.core.model.DefectMap.Region(200, 20, 40, 40), s.heatmap().region());
                assertTrue(Files.size(p.samples().dir().resolve(s.heatmap().file())) < 300, "a compact grid");

                String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
                String heatmapUrl = url + "/api/samples/" + s.id() + "/heatmap";
                HttpResponse<String> anonymous = ServiceEndToEndTest.get(heatmapUrl);
                assertEquals(401, anonymous.statusCode(), "no session, no heatmap");
                assertTrue(anonymous.body().contains("log in first"), anonymous.body());

                String[] olga = ServiceEndToEndTest.login(url, "olga", "line one operator");
                HttpResponse<byte[]> png = getBytes(heatmapUrl, olga[0]);
                assertEquals(200, png.statusCode());
                assertEquals("image/png", png.headers().firstValue("content-type").orElse(""));
                Mat rgba = Imgcodecs.imdecode(new MatOfByte(png.body()), Imgcodecs.IMREAD_UNCHANGED);
                try {
                    assertEquals(4, rgba.channels(), "colour with alpha = score");
                    assertEquals(320, rgba.cols(), "the inspected image's size");
                    assertEquals(120, rgba.rows());
                    assertTrue(rgba.get(40, 220)[3] > 200, "opaque on the spot");
                    assertTrue(rgba.get(100, 20)[3] < 20, "clear far from it");
                } finally {
                    rgba.release();
                }

                JsonNode sample = JSON.readTree(ServiceEndToEndTest.get(url + "/api/samples/" + s.id(), olga).body());
                assertEquals(200, sample.get("heatmap").get("region").get("x").asInt());
                assertFalse(sample.get("heatmap").get("region").has("empty"));

                // a sample without a map, and no sample at all: 404 with the reason
                Sample plain = p.samples().add("cam1", Instant.now(), new byte[] {1, 2, 3}, "audit", "old-model", "ok",
                        "ok", 0.9, null, null, null);
                HttpResponse<byte[]> none = getBytes(url + "/api/samples/" + plain.id() + "/heatmap", olga[0]);
                assertEquals(404, none.statusCode());
                assertEquals("sample '" + plain.id() + "' has no heatmap: the model that judged it (old-model) gives"
                        + " no defect map", JSON.readTree(none.body()).get("error").asText());
                HttpResponse<byte[]> missing = getBytes(url + "/api/samples/s0000000000000-00000000/heatmap", olga[0]);
                assertEquals(404, missing.statusCode());
                assertTrue(new String(missing.body()).contains("no sample"), new String(missing.body()));

                // deleting the sample deletes its heatmap
                Path file = p.samples().dir().resolve(s.heatmap().file());
                assertEquals(200, ApiClient.send("DELETE", url + "/api/samples/" + s.id(), null, olga).statusCode());
                assertFalse(Files.exists(file), "the heatmap went with its sample");
            } finally {
                ctx.close();
            }
        }
    }

    @Test
    void aModelWithoutAMapAlertsWithANullRegionAndStoresNoHeatmap() throws Exception {
        Path pkg = MapModels.write(tmp.resolve("old"), "no-map", 64, 48, Preprocessing.Fit.LETTERBOX, 8, false).dir();
        try (Mosquitto broker = Mosquitto.launch();
                MqttSubscriber sub = new MqttSubscriber(broker.url(),
                        "vigil/line1/cam1/alert")) {
            ApplicationContext ctx = ServeCommand.start(config(broker.url(), tmp.resolve("data"),
                    frames(tmp.resolve("frames")), pkg, null));
            try {
                InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
                await(() -> !sub.raw("vigil/line1/cam1/alert").isEmpty(), Duration.ofSeconds(30), "the alert");
                String raw = sub.raw("vigil/line1/cam1/alert").get(0);
                assertTrue(raw.endsWith(",\"region\":null,\"attributes\":null}"), "the key is there, null: " + raw);
                Sample s = p.samples().get(JSON.readTree(raw).get("sampleId").asText()).orElseThrow();
                assertEquals(null, s.heatmap());
                try (var files = Files.list(p.samples().imageFile(s).getParent())) {
                    assertTrue(files.noneMatch(f -> f.toString().endsWith(".heatmap.png")), "no heatmap files");
                }
            } finally {
                ctx.close();
            }
        }
    }

    private static boolean contains(JsonNode r, int x, int y) {
        return x >= r.get("x").asInt() && x < r.get("x").asInt() + r.get("width").asInt() && y >= r.get("y").asInt()
                && y < r.get("y").asInt() + r.get("height").asInt();
    }

    private static boolean inside(JsonNode r, int x0, int y0, int x1, int y1) {
        return r.get("x").asInt() >= x0 && r.get("y").asInt() >= y0
                && r.get("x").asInt() + r.get("width").asInt() <= x1 + 1
                && r.get("y").asInt() + r.get("height").asInt() <= y1 + 1;
    }

    static HttpResponse<byte[]> getBytes(String url, String cookie) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).header("Cookie", cookie)
                .build(), HttpResponse.BodyHandlers.ofByteArray());
    }
}
