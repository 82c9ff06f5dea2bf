package dev.vigil.app.service;

import static dev.vigil.app.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.testing.TestConfig;
import dev.vigil.app.testing.TestModels;
import dev.vigil.config.DeviceConfig;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.features.PoolMode;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TransferTrainer;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Grafana dashboard of deploy/grafana against the running service: every metric a panel or a variable queries is
 * one the service really exports on {@code /prometheus} (a dashboard cannot point at a metric that does not exist, or
 * no longer does), every panel queries at least one, and the dashboard is importable as the docs say (a
 * {@code DS_PROMETHEUS} input used by every panel, the {@code instance} and {@code camera} variables).
 */
class GrafanaDashboardTest {
    static final Path DASHBOARD = Path.of("../deploy/grafana/vigil-dashboard.json");
    private static final ObjectMapper JSON = new ObjectMapper();
    /** PromQL words that are not metric names. */
    private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "and", "or", "unless", "offset", "atan2", "inf", "nan");
    @TempDir
    Path tmp;

    @Test
    void everyMetricTheDashboardQueriesIsExportedByTheService() throws Exception {
        JsonNode dashboard = JSON.readTree(Files.readString(DASHBOARD));

        // importable: the datasource is an input, every panel and variable uses it; the variables exist
        assertEquals("DS_PROMETHEUS", dashboard.at("/__inputs/0/name").asText());
        assertEquals("prometheus", dashboard.at("/__inputs/0/pluginId").asText());
        List<String> variables = new ArrayList<>();
        dashboard.at("/templating/list").forEach(v -> variables.add(v.path("name").asText()));
        assertEquals(List.of("instance", "camera"), variables);
        Set<String> used = new TreeSet<>();
        Set<Integer> ids = new HashSet<>();
        int queried = 0;
        for (JsonNode panel : dashboard.path("panels")) {
            assertTrue(ids.add(panel.path("id").asInt()), "panel ids are unique: " + panel.path("title"));
            if (panel.path("type").asText().equals("row")) {
                continue;
            }
            String title = panel.path("title").asText();
            assertEquals("${DS_PROMETHEUS}", panel.at("/datasource/uid").asText(), title);
            Set<String> mine = new TreeSet<>();
            for (JsonNode target : panel.path("targets")) {
                String expr = target.path("expr").asText();
                assertTrue(expr.contains("$instance"), title + ": follows the device variable: " + expr);
                mine.addAll(metrics(expr));
            }
            assertFalse(mine.isEmpty(), title + " queries no metric");
            used.addAll(mine);
            queried++;
        }
        for (JsonNode v : dashboard.at("/templating/list")) {
            assertEquals("${DS_PROMETHEUS}", v.at("/datasource/uid").asText(), v.path("name").asText());
            used.addAll(metrics(v.at("/query/query").asText()));
            used.addAll(metrics(v.path("definition").asText()));
        }
        assertTrue(queried >= 10, "panels: " + queried);
        assertTrue(used.containsAll(Set.of("vigil_verdicts_total", "vigil_frame_latency_seconds_bucket",
                "vigil_frames_dropped_total", "vigil_alerts_queue", "vigil_drift_score", "vigil_build_info",
                "vigil_model_info")), "the dashboard shows what docs/deploy.md says: " + used);

        // the service, with a model, a camera, a drift window short and sensitive enough to raise the alarm
        Set<String> exported = exported();
        Set<String> missing = new TreeSet<>(used);
        missing.removeAll(exported);
        assertTrue(missing.isEmpty(), "the dashboard queries metrics the service does not export: " + missing
                + "; it exports " + exported.stream().filter(m -> m.startsWith("vigil_")).toList());
        System.out.println("dashboard metrics, all exported: " + used);
    }

    @Test
    void theMetricNamesAreFoundInPromQl() {
        assertEquals(Set.of("a_total", "b_bucket"), metrics("sum by (le, camera) (rate(a_total{x=~\"$instance\","
                + " verdict=\"ok|by\"}[$__rate_interval])) / on (camera) group_left histogram_quantile(0.5,"
                + " b_bucket[5m] offset 1h)"));
        assertEquals(Set.of("vigil_camera_up"), metrics("label_values(vigil_camera_up{instance=~\"$instance\"},"
                + " camera)"));
        assertEquals(Set.of("m"), metrics("count without (instance) (m) > bool 2e3"));
    }

    /** The metric names a PromQL expression (or a {@code label_values(...)} variable query) reads. */
    static Set<String> metrics(String expr) {
        String e = expr.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"") // strings
                .replaceAll("\\{[^}]*}", " ") // label matchers
                .replaceAll("\\[[^]]*]", " ") // ranges
                .replaceAll("\\$\\{?\\w+}?", " ") // Grafana variables
                .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
                .replaceAll("\\blabel_values\\s*\\(([^,)]*),[^)]*\\)", "$1")
                .replaceAll("\\boffset\\s+\\w+", " ");
        Set<String> names = new TreeSet<>();
        Matcher m = Pattern.compile("(?<![\\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\\s*\\()?").matcher(e);
        while (m.find()) {
            if (m.group(2) == null && !KEYWORDS.contains(m.group(1).toLowerCase(java.util.Locale.ROOT))) {
                names.add(m.group(1));
            }
        }
        return names;
    }

    /** The metric names the running service exports on /prometheus once it has judged parts. */
    private Set<String> exported() throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine(); // before the trainer makes an ONNX Runtime environment
        Path train = SharedAssets.subset(SharedAssets.casting().resolve("train"), tmp.resolve("train"), 0, 6);
        var bb = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(SharedAssets.squeezenet().toString());
        TrainOptions o = TrainOptions.defaults().withUnfreeze(0).withEpochs(3).withFolds(0)
                .withAugment(List.of(Variant.ORIGINAL)).withTta(false).withHead(0, List.of(0, 4), PoolMode.AVGMAX);
        Path model;
        try (TransferTrainer t = new TransferTrainer(bb, ImageDataset.scan(train, 2), o, tmp.resolve("cache"),
                new PrintStream(OutputStream.nullOutputStream()))) {
            t.train();
            model = new ModelExporter(t).write(tmp.resolve("model")).dir();
        }
        Path frames = tmp.resolve("frames");
        TestModels.linkFrames(SharedAssets.casting().resolve("test"), frames, 0, 3);
        DeviceConfig c = TestConfig.offline("line1", tmp.resolve("data"))
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(frames.toString(), 10,
                        true), null, null)))
                .model(new DeviceConfig.ModelSettings(model.toString(), false))
                .drift(new DeviceConfig.Drift(true, 5, 1e-6))
                .build();
        ApplicationContext ctx = ServeCommand.start(c);
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            await(() -> p.drift().state("cam1") != null && p.drift().state("cam1").alarm(), Duration.ofSeconds(60),
                    "parts judged and the drift alarm raised");
            HttpResponse<String> r = ServiceEndToEndTest.get(url + "/prometheus"); // web.metrics: loopback
            assertEquals(200, r.statusCode(), r.body());
            Set<String> names = new TreeSet<>();
            for (String line : r.body().split("\n")) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    names.add(line.split("[{ ]", 2)[0]);
                }
            }
            return names;
        } finally {
            ctx.close();
        }
    }
}
