package dev.vigil.app.service;

import dev.vigil.app.testing.TestConfig;

import dev.vigil.app.testing.MqttSubscriber;

import static dev.vigil.app.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.testing.Mosquitto;
import dev.vigil.app.testing.TestModels;
import dev.vigil.config.DeviceConfig;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.core.Hashing;
import io.micronaut.context.ApplicationContext;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Model offers over a real Mosquitto, served by a real HTTP server: a good offer becomes the candidate (and does not
 * serve); a wrong hash, an unreachable address, a package whose files do not match its manifest and an archive with
 * a path in it are refused and reported, and nothing partial is left on disk or in the registry.
 */
class ModelOfferTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    @Test
    void goodOffersBecomeCandidatesAndBadOnesLeaveNothing() throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine();
        Path pkg = TestModels.casting(tmp, "offered", 0, 6, 3, 5);
        String id = ModelPackage.open(pkg).manifest().id();
        byte[] good = zip(pkg, Map.of());
        byte[] tampered = zip(pkg, Map.of(ModelPackage.REPORT, "{\"tampered\": true}"));
        byte[] sneaky = zip(pkg, Map.of("../evil.sh", "echo owned"));
        HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        for (var e : Map.of("/good.zip", good, "/tampered.zip", tampered, "/sneaky.zip", sneaky).entrySet()) {
            http.createContext(e.getKey(), x -> {
                x.sendResponseHeaders(200, e.getValue().length);
                x.getResponseBody().write(e.getValue());
                x.close();
            });
        }
        http.start();
        String base = "http://127.0.0.1:" + http.getAddress().getPort();
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        Path data = tmp.resolve("data");
        Path frames = tmp.resolve("frames");
        ApiClient.writeFrames(frames, 2, 64, 64);
        try (Mosquitto broker = Mosquitto.launch()) {
            DeviceConfig c = TestConfig.device("fleet7")
                    .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(frames.toString(), 2,
                            true), null, null)))
                    .mqtt(new DeviceConfig.Mqtt(broker.url(), null, null, null, null, null, null, null, null, 60,
                            null) .withAcceptCommands(true))
                    .storage(new DeviceConfig.Storage(data.toString(), null, null, null, null, null))
                    .web(new DeviceConfig.Web(0, "127.0.0.1"))
                    .build();
            ApplicationContext ctx = ServeCommand.start(c);
            try (MqttSubscriber client = new MqttSubscriber(broker.url(),
                    "vigil/fleet7/model/offer/state")) {
                InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
                await(() -> p.mqtt().connected(), Duration.ofSeconds(15), "the service connected");

                JsonNode a = offer(client, "o1", base + "/good.zip", Hashing.sha256(good));
                assertEquals("accepted", a.get("result").asText(), a.toString());
                assertEquals(id, a.get("candidateId").asText());
                assertEquals(good.length, a.get("bytes").asLong());
                assertEquals(id, p.registry().pointer().candidate(), "the candidate");
                assertNull(p.registry().pointer().active(), "offered, not put into service");
                assertNull(p.model(), "collect mode goes on");
                assertNothingLeft(data);

                a = offer(client, "o2", base + "/good.zip", "0".repeat(64));
                assertEquals("refused", a.get("result").asText());
                assertTrue(a.get("reason").asText().startsWith("sha256 mismatch"), a.toString());
                a = offer(client, "o3", "http://127.0.0.1:" + closed + "/good.zip", Hashing.sha256(good));
                assertEquals("refused", a.get("result").asText());
                assertTrue(a.get("reason").asText().contains("cannot reach 127.0.0.1:" + closed), a.toString());
                a = offer(client, "o4", base + "/tampered.zip", Hashing.sha256(tampered));
                assertEquals("refused", a.get("result").asText());
                assertTrue(a.get("reason").asText().contains(ModelPackage.REPORT), a.toString());
                a = offer(client, "o5", base + "/sneaky.zip", Hashing.sha256(sneaky));
                assertEquals("refused", a.get("result").asText());
                assertTrue(a.get("reason").asText().contains("../evil.sh"), a.toString());
                a = offer(client, "o6", base + "/missing.zip", "a".repeat(64));
                assertTrue(a.get("reason").asText().contains("HTTP 404"), a.toString());
                assertEquals(1, p.registry().entries().size(), "only the good package is in the registry");
                assertNothingLeft(data);
            } finally {
                ctx.close();
                http.stop(0);
            }
        }
    }

    private static JsonNode offer(MqttSubscriber client, String requestId, String url, String sha)
            throws Exception {
        String topic = "vigil/fleet7/model/offer/state";
        client.publish("vigil/fleet7/model/offer", "{\"requestId\": \"" + requestId + "\", \"url\": \"" + url
                + "\", \"sha256\": \"" + sha + "\"}");
        await(() -> client.messages(topic).stream().anyMatch(a -> a.path("requestId").asText().equals(requestId)),
                Duration.ofSeconds(30), "the answer to " + requestId);
        return client.messages(topic).stream().filter(a -> a.path("requestId").asText().equals(requestId))
                .findFirst().orElseThrow();
    }

    private static void assertNothingLeft(Path data) throws Exception {
        try (Stream<Path> s = Files.walk(data.resolve("offers"))) {
            assertEquals(List.of(data.resolve("offers")), s.toList(), "the offers scratch folder is empty");
        }
        try (Stream<Path> s = Files.list(data.resolve("models").resolve("versions"))) {
            assertTrue(s.noneMatch(x -> x.getFileName().toString().startsWith(".")), "no half-copied version");
        }
    }

    /** The package's files in a zip, some replaced or added. */
    private static byte[] zip(Path pkg, Map<String, String> changes) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(out)) {
            for (String f : List.of(ModelPackage.MODEL, ModelPackage.MANIFEST, ModelPackage.REPORT)) {
                z.putNextEntry(new ZipEntry("package/" + f));
                z.write(changes.containsKey(f) ? changes.get(f).getBytes(StandardCharsets.UTF_8)
                        : Files.readAllBytes(pkg.resolve(f)));
                z.closeEntry();
            }
            for (var e : changes.entrySet()) {
                if (!List.of(ModelPackage.MODEL, ModelPackage.MANIFEST, ModelPackage.REPORT).contains(e.getKey())) {
                    z.putNextEntry(new ZipEntry(e.getKey()));
                    z.write(e.getValue().getBytes(StandardCharsets.UTF_8));
                    z.closeEntry();
                }
            }
        }
        return out.toByteArray();
    }
}
