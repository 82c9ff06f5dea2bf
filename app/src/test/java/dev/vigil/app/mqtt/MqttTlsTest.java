package dev.vigil.app.mqtt;

import dev.vigil.app.testing.TestConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.vigil.app.testing.Mosquitto;
import dev.vigil.config.DeviceConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS with a private CA ({@code mqtt.caFile}) and a user name and password ({@code mqtt.passwordEnv}) against a
 * Mosquitto that requires both. Certificates are made with {@code openssl}; without it (or without
 * {@code mosquitto_passwd}) the test is skipped.
 */
class MqttTlsTest {
    private static final String PASSWORD = "s3cret-for-tests";

    @TempDir
    static Path pki;

    private static Mosquitto broker;

    @BeforeAll
    static void brokerWithTlsAndPasswords() throws Exception {
        Mosquitto.requireInstalled();
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl not installed");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/mosquitto_passwd")),
                "mosquitto_passwd not installed");
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                "-days", "2", "-subj", "/CN=Vigil test CA");
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out",
                "other-ca.pem", "-days", "2", "-subj", "/CN=Someone else");
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
                "-subj", "/CN=127.0.0.1");
        Files.writeString(pki.resolve("san.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.pem", "-days", "2", "-extfile", "san.cnf");
        run("mosquitto_passwd", "-b", "-c", "passwd", "vigil", PASSWORD);
        broker = Mosquitto.create(false, false, List.of("cafile " + pki.resolve("ca.pem"),
                "certfile " + pki.resolve("server.pem"), "keyfile " + pki.resolve("server.key"),
                "password_file " + pki.resolve("passwd")));
        broker.start();
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(pki.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
    }

    private MqttLink link(Path journal, String caFile, String password) {
        DeviceConfig c = TestConfig.device("line1")
                .mqtt(new DeviceConfig.Mqtt("mqtts://127.0.0.1:" + broker.port(), null, "vigil",
                        "VIGIL_MQTT_PASSWORD", null, pki.resolve(caFile).toString(), null, null, null, null, null))
                .build();
        return new MqttLink(c, journal, null, Map.of("VIGIL_MQTT_PASSWORD", password)::get);
    }

    @Test
    void connectsWithTheCaFileAndThePasswordFromTheEnvironment(@TempDir Path journal) {
        try (MqttLink link = link(journal, "ca.pem", PASSWORD)) {
            link.start();
            link.publishAlert(AlertPayload.of("tls-1", Instant.now(), "line1", "cam1", "scratch", 0.9, "defect",
                    "m-1", null));
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (link.alertsDelivered() < 1 && System.nanoTime() < deadline) {
                Observer.sleep(10);
            }
            assertEquals(1, link.alertsDelivered(), "alert delivered over TLS");
        }
    }

    @Test
    void aWrongPasswordOrAnUntrustedBrokerNeverConnects(@TempDir Path journal) {
        List<MqttLink> links = new ArrayList<>();
        try {
            links.add(link(journal.resolve("a"), "ca.pem", "wrong"));
            links.add(link(journal.resolve("b"), "other-ca.pem", PASSWORD));
            links.forEach(MqttLink::start);
            Observer.sleep(1500);
            for (MqttLink l : links) {
                assertFalse(l.connected());
            }
        } finally {
            links.forEach(MqttLink::close);
        }
    }
}
