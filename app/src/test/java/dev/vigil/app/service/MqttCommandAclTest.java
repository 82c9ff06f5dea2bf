package dev.vigil.app.service;

import static dev.vigil.app.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vigil.app.ServeCommand;
import dev.vigil.app.testing.Mosquitto;
import dev.vigil.config.ConfigStore;
import io.micronaut.context.ApplicationContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * State-changing MQTT commands with the Mosquitto password file and ACL of docs/mqtt.md, on a real broker: a client
 * that may only read publishes a configuration change and it never reaches the device; the fleet controller's does.
 * And with {@code mqtt.acceptCommands} off the device does not even take the fleet controller's.
 */
class MqttCommandAclTest {
    @TempDir
    Path tmp;

    @Test
    void onlyTheFleetControllerChangesTheDevice() throws Exception {
        Mosquitto.requireInstalled();
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/mosquitto_passwd")), "SKIPPED: mosquitto_passwd not"
                + " installed");
        Path passwd = tmp.resolve("passwd");
        run("mosquitto_passwd", "-b", "-c", passwd.toString(), "device", "device secret");
        run("mosquitto_passwd", "-b", passwd.toString(), "fleet", "fleet secret");
        run("mosquitto_passwd", "-b", passwd.toString(), "dashboard", "dashboard secret");
        Path acl = tmp.resolve("acl");
        Files.writeString(acl, String.join("\n", docsAcl()) + "\n");
        Path frames = tmp.resolve("frames");
        ApiClient.writeFrames(frames, 2, 64, 48);
        Path data = tmp.resolve("data");
        Path devicePassword = tmp.resolve("device.pw");
        Files.writeString(devicePassword, "device secret\n");
        try (Mosquitto broker = Mosquitto.create(false, false, List.of("password_file " + passwd,
                "acl_file " + acl))) {
            broker.start();
            for (boolean accept : List.of(true, false)) {
                Path file = tmp.resolve("vigil-" + accept + ".yml");
                Files.writeString(file, String.join("\n", "schemaVersion: 2", "device: { id: line1 }", "cameras:",
                        "  - id: cam1", "    source: { type: folder, path: '" + frames + "', fps: 2, loop: true }",
                        "mqtt: { url: '" + broker.url() + "', username: device, passwordFile: '" + devicePassword
                                + "', acceptCommands: " + accept + " }",
                        "storage: { dir: '" + data.resolve("d-" + accept) + "' }",
                        "web: { port: 0, host: 127.0.0.1 }", ""));
                ConfigStore store = ServeCommand.openStore(file);
                ApplicationContext ctx = ServeCommand.start(store.current().config(), store);
                try {
                    InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
                    await(() -> p.mqtt().connected(), Duration.ofSeconds(10), "the device connected as 'device'");
                    Thread.sleep(500); // its subscriptions in place
                    publish(broker.url(), "fleet", "fleet secret", "vigil/line1/config/set",
                            "{\"requestId\": \"fleet\", \"config\": {\"storage\": {\"flagsPerHour\": 5}}}");
                    int expected;
                    if (accept) {
                        await(() -> store.current().version() == 2, Duration.ofSeconds(10), "the fleet's change");
                        assertEquals(5, p.config().storage().flagsPerHour());
                        expected = 2;
                    } else {
                        Thread.sleep(1500);
                        assertEquals(1, store.current().version(), "mqtt.acceptCommands off: not even the fleet's");
                        expected = 1;
                    }
                    // the device listens (the fleet's arrived): a dashboard account may read everything and
                    // publish nothing under vigil/
                    publish(broker.url(), "dashboard", "dashboard secret", "vigil/line1/config/set",
                            "{\"requestId\": \"intruder\", \"config\": {\"storage\": {\"flagsPerHour\": 3}}}");
                    Thread.sleep(1500);
                    assertEquals(expected, store.current().version(), "the dashboard's command never reached it");
                    assertEquals(accept ? 5 : 120, p.config().storage().flagsPerHour());
                } finally {
                    ctx.close();
                }
            }
        }
    }

    /** The ACL of docs/mqtt.md, read from the document itself (the block after "```acl"). */
    static List<String> docsAcl() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("../docs/mqtt.md"));
        int start = lines.indexOf("```acl");
        int end = lines.subList(start + 1, lines.size()).indexOf("```") + start + 1;
        return lines.subList(start + 1, end);
    }

    private static void publish(String url, String user, String password, String topic, String payload)
            throws Exception {
        MqttClient c = new MqttClient(url, user + "-" + System.nanoTime(), new MemoryPersistence());
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setUserName(user);
        o.setPassword(password.getBytes(StandardCharsets.UTF_8));
        c.connect(o);
        try {
            c.publish(topic, new MqttMessage(payload.getBytes(StandardCharsets.UTF_8), 1, false, null));
        } catch (org.eclipse.paho.mqttv5.common.MqttException e) {
            // an MQTT 5 broker may answer "not authorized": the command is refused either way
        } finally {
            c.disconnect();
            c.close();
        }
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
    }
}
