package dev.vigil.app.mqtt;

import dev.vigil.app.testing.TestConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.config.DeviceConfig;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TopicsTest {
    private static DeviceConfig config(String device, String prefix) {
        return TestConfig.device(device)
                .mqtt(new DeviceConfig.Mqtt(null, prefix, null, null, null, null, null, null, null, null, null))
                .build();
    }

    @Test
    void defaultPrefixIsVigilSlashDeviceId() {
        Topics t = Topics.of(config("line1", null));
        assertEquals("vigil/line1", t.prefix());
        assertEquals("vigil/line1/available", t.available());
        assertEquals("vigil/line1/status", t.status());
        assertEquals("vigil/line1/cam1/alert", t.alert("cam1"));
        assertEquals("vigil/line1/cam1/inspection", t.inspection("cam1"));
        assertEquals("vigil/line1/cam1/trigger", t.trigger("cam1"));
        assertEquals("vigil/line1/+/trigger", t.triggerWildcard());
        assertEquals("vigil/line1/model/state", t.modelState());
        assertEquals("vigil/line1/model/set", t.modelSet());
        assertEquals("vigil/line1/config/set", t.configSet());
        assertEquals("vigil/line1/config/state", t.configState());
        assertEquals("vigil/line1/lot/set", t.lotSet());
    }

    @Test
    void configuredPrefixWinsAndATrailingSlashIsIgnored() {
        Topics t = Topics.of(config("line1", "plant7/hall2/"));
        assertEquals("plant7/hall2", t.prefix());
        assertEquals("plant7/hall2/cam3/alert", t.alert("cam3"));
    }

    @Test
    void cameraIsParsedBackOutOfATriggerTopic() {
        Topics t = new Topics("vigil/line1");
        assertEquals(Optional.of("cam-2"), t.cameraOfTrigger(t.trigger("cam-2")));
        assertEquals(Optional.empty(), t.cameraOfTrigger("vigil/line2/cam1/trigger"), "another device");
        assertEquals(Optional.empty(), t.cameraOfTrigger("vigil/line1/cam1/alert"), "another suffix");
        assertEquals(Optional.empty(), t.cameraOfTrigger("vigil/line1/a/b/trigger"), "two levels");
        assertEquals(Optional.empty(), t.cameraOfTrigger("vigil/line1/trigger"), "no camera");
        assertEquals(Optional.empty(), t.cameraOfTrigger(null));
    }

    @Test
    void unusableNamesAreRefusedWithTheKeyInTheMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Topics("vigil/#"));
        assertTrue(e.getMessage().contains("mqtt.prefix"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Topics.of(config("a/b", null)));
        assertTrue(e.getMessage().contains("device.id"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Topics("vigil/x").alert("cam+1"));
        assertTrue(e.getMessage().contains("camera id"), e.getMessage());
    }
}
