package dev.vigil.app.service;

import dev.vigil.app.testing.TestConfig;

import static dev.vigil.app.service.ApiClient.send;
import static dev.vigil.app.testing.Await.await;
import static dev.vigil.app.service.ServiceEndToEndTest.get;
import static dev.vigil.app.service.ServiceEndToEndTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.capture.CameraStatus;
import dev.vigil.app.testing.Mosquitto;
import dev.vigil.config.DeviceConfig;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service without a model (collect mode): a camera that is lost comes back by itself and health follows it;
 * triggered cameras capture on an HTTP or MQTT trigger; collected frames land in the sample store.
 */
class ServiceResilienceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    @Test
    void aLostCameraIsDownInHealthThenComesBackAndTriggersCaptureOneFrameEach() throws Exception {
        Path folder = tmp.resolve("line");
        ApiClient.writeFrames(folder, 3, 160, 120);
        try (Mosquitto broker = Mosquitto.launch()) {
            DeviceConfig c = TestConfig.device("line2")
                    .cameras(List.of(new DeviceConfig.Camera("live", DeviceConfig.Source.folder(folder.toString(),
                            20, true), null, null), new DeviceConfig.Camera("station",
                            DeviceConfig.Source.folder(folder.toString(), 20, true), null, "triggered")))
                    .mqtt(new DeviceConfig.Mqtt(broker.url(), null, null, null, null, null, null, null, null, 1, null))
                    .storage(new DeviceConfig.Storage(tmp.resolve("data").toString(), null, null, null, 1000, null))
                    .web(new DeviceConfig.Web(0, "127.0.0.1"))
                    .build();
            new dev.vigil.app.auth.AccountStore(tmp.resolve("data").resolve("accounts.json"))
                    .put("olga", dev.vigil.app.auth.AccountStore.Role.OPERATOR, "line two operator".toCharArray());
            ApplicationContext ctx = ServeCommand.start(c);
            try {
                InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
                String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
                await(() -> p.cameraStatus().get("live").frames() > 5, Duration.ofSeconds(10), "live frames");
                assertEquals(200, get(url + "/health/readiness").statusCode());
                assertTrue(p.samples().count() > 0, "collect mode flags frames for labelling");

                // the camera goes away: down in health, the service keeps running
                Path away = tmp.resolve("unplugged");
                Files.move(folder, away);
                await(() -> state(p, "live") == CameraStatus.State.DOWN, Duration.ofSeconds(10), "camera down");
                var down = get(url + "/health/readiness");
                assertEquals(503, down.statusCode(), "not ready without a camera");
                assertEquals(200, get(url + "/health/liveness").statusCode(), "but alive: no reason to restart");
                String[] olga = ServiceEndToEndTest.login(url, "olga", "line two operator");
                JsonNode details = JSON.readTree(get(url + "/api/status", olga).body());
                assertTrue(details.toString().contains("DOWN") || details.toString().contains("\"down\""),
                        details.toString());
                // and comes back by itself
                Files.move(away, folder);
                await(() -> state(p, "live") == CameraStatus.State.UP, Duration.ofSeconds(20), "camera back up");
                long before = p.cameraStatus().get("live").frames();
                await(() -> p.cameraStatus().get("live").frames() > before + 3, Duration.ofSeconds(10),
                        "frames again");
                assertTrue(p.cameraStatus().get("live").reconnects() >= 1);
                await(() -> state(p, "station") == CameraStatus.State.UP, Duration.ofSeconds(20), "station up");
                await(() -> get200(url + "/health/readiness"), Duration.ofSeconds(10), "ready again");

                // triggered capture: nothing until asked, then one frame per trigger (HTTP and MQTT)
                long s0 = p.cameraStatus().get("station").frames();
                Thread.sleep(500);
                assertEquals(s0, p.cameraStatus().get("station").frames(), "a triggered camera waits");
                // refused without a session, then without the CSRF token: nothing captured
                assertEquals(401, post(url + "/api/cameras/station/trigger").statusCode());
                assertEquals(401, send("POST", url + "/api/login", "{\"name\":\"olga\",\"password\":\"wrong pass!\"}",
                        null, null).statusCode());
                var login = send("POST", url + "/api/login", "{\"name\":\"olga\",\"password\":\"line two operator\"}",
                        null, null);
                assertEquals(200, login.statusCode());
                String cookie = login.headers().firstValue("set-cookie").orElseThrow().split(";")[0];
                String setCookie = login.headers().firstValue("set-cookie").get().toLowerCase(java.util.Locale.ROOT);
                assertTrue(setCookie.contains("httponly") && setCookie.contains("samesite=strict"), setCookie);
                String csrf = JSON.readTree(login.body()).get("csrf").asText();
                assertEquals(403, send("POST", url + "/api/cameras/station/trigger", "", cookie, null).statusCode());
                assertEquals(403, send("POST", url + "/api/cameras/station/trigger", "", cookie, "forged").statusCode());
                Thread.sleep(300);
                assertEquals(s0, p.cameraStatus().get("station").frames(), "refused requests change nothing");
                assertEquals(404, send("POST", url + "/api/cameras/nope/trigger", "", cookie, csrf).statusCode());
                assertEquals(202, send("POST", url + "/api/cameras/station/trigger", "", cookie, csrf).statusCode());
                await(() -> p.cameraStatus().get("station").frames() == s0 + 1, Duration.ofSeconds(5), "HTTP trigger");
                MqttClient cmd = new MqttClient(broker.url(), "test-cmd", new MemoryPersistence());
                cmd.connect();
                await(() -> p.mqtt().connected(), Duration.ofSeconds(10), "service connected");
                cmd.publish("vigil/line2/station/trigger", new MqttMessage("{}".getBytes()));
                await(() -> p.cameraStatus().get("station").frames() == s0 + 2, Duration.ofSeconds(5), "MQTT trigger");
                cmd.disconnect();
                cmd.close();
            } finally {
                ctx.close();
            }
        }
    }

    private static boolean get200(String url) {
        try {
            return get(url).statusCode() == 200;
        } catch (Exception e) {
            return false;
        }
    }

    private static CameraStatus.State state(InspectionPipeline p, String camera) {
        return p.cameraStatus().get(camera).state();
    }
}
