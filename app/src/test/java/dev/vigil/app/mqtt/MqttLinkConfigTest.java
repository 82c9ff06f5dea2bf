package dev.vigil.app.mqtt;

import dev.vigil.app.testing.TestConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.config.DeviceConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Configuration mistakes are refused up front, each message naming the key, the value and what to do. */
class MqttLinkConfigTest {
    @TempDir
    Path tmp;

    private static DeviceConfig config(String url, String user, String passwordEnv, String caFile) {
        return TestConfig.device("line1")
                .mqtt(new DeviceConfig.Mqtt(url, null, user, passwordEnv, null, caFile, null, null, null, null, null))
                .build();
    }

    private IllegalArgumentException refused(DeviceConfig config, Map<String, String> env) {
        return assertThrows(IllegalArgumentException.class,
                () -> new MqttLink(config, tmp.resolve("journal"), null, env::get).close());
    }

    @Test
    void urlsAreNormalisedForPaho() {
        assertEquals("tcp://broker.local:1883", dev.vigil.config.MqttUrl.serverUri("mqtt://broker.local"));
        assertEquals("ssl://broker.local:8883", dev.vigil.config.MqttUrl.serverUri("mqtts://broker.local"));
        assertEquals("tcp://10.0.0.5:1884", dev.vigil.config.MqttUrl.serverUri("tcp://10.0.0.5:1884"));
        assertEquals("ssl://[::1]:8883", dev.vigil.config.MqttUrl.serverUri("ssl://[::1]"));
    }

    @Test
    void aBadUrlIsRefused() {
        IllegalArgumentException e = refused(config("http://broker:80", null, null, null), Map.of());
        assertTrue(e.getMessage().contains("mqtt.url 'http://broker:80'") && e.getMessage().contains("tcp://"),
                e.getMessage());
        e = refused(config("broker:1883", null, null, null), Map.of());
        assertTrue(e.getMessage().contains("mqtt.url"), e.getMessage());
    }

    @Test
    void aMissingPasswordVariableIsNamed() {
        IllegalArgumentException e = refused(config("ssl://broker", "vigil", "VIGIL_MQTT_PASSWORD", null), Map.of());
        assertTrue(e.getMessage().contains("mqtt.passwordEnv") && e.getMessage().contains("VIGIL_MQTT_PASSWORD"),
                e.getMessage());
    }

    @Test
    void aMissingOrBrokenCaFileIsNamed() throws Exception {
        Path missing = tmp.resolve("nowhere/ca.pem");
        IllegalArgumentException e = refused(config("ssl://broker", null, null, missing.toString()), Map.of());
        assertTrue(e.getMessage().contains("mqtt.caFile " + missing), e.getMessage());
        Path garbage = Files.writeString(tmp.resolve("ca.pem"), "this is not a certificate\n");
        e = refused(config("ssl://broker", null, null, garbage.toString()), Map.of());
        assertTrue(e.getMessage().contains("mqtt.caFile " + garbage) && e.getMessage().contains("BEGIN CERTIFICATE"),
                e.getMessage());
    }

    @Test
    void aJournalFolderServesOneLinkAtATime() {
        DeviceConfig c = config("tcp://127.0.0.1:9", null, null, null);
        try (MqttLink first = new MqttLink(c, tmp.resolve("journal"), null)) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> new MqttLink(c, tmp.resolve("journal"), null));
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
            first.start();
        }
        new MqttLink(c, tmp.resolve("journal"), null).close(); // released by close()
    }
}
