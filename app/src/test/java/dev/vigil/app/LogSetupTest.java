package dev.vigil.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.config.DeviceConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * One logging API: Vigil's System.Logger events and java.util.logging (Paho) events come out of logback, as text or,
 * with {@code logging.format: json}, as one JSON object per line.
 */
class LogSetupTest {
    @Test
    void jsonFormatWritesOneObjectPerLineForSystemLoggerAndJulEvents() throws Exception {
        PrintStream err = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(out, true, StandardCharsets.UTF_8));
            LogSetup.init();
            LogSetup.apply(new DeviceConfig.Logging("json"));
            System.getLogger("dev.vigil.test").log(System.Logger.Level.INFO, "camera {0} is {1}", "cam1", "up");
            java.util.logging.Logger.getLogger("org.eclipse.paho.test").warning("broker gone");
            System.getLogger("dev.vigil.test").log(System.Logger.Level.DEBUG, "not shown at info");
        } finally {
            LogSetup.apply(new DeviceConfig.Logging("text"));
            System.setErr(err);
        }
        String[] lines = out.toString(StandardCharsets.UTF_8).strip().split("\n");
        assertEquals(2, lines.length, String.join("\n", lines));
        ObjectMapper json = new ObjectMapper();
        JsonNode first = json.readTree(lines[0]);
        assertEquals("INFO", first.get("level").asText());
        assertEquals("dev.vigil.test", first.get("loggerName").asText());
        assertEquals("camera cam1 is up", first.get("formattedMessage").asText());
        JsonNode second = json.readTree(lines[1]);
        assertEquals("WARN", second.get("level").asText());
        assertEquals("broker gone", second.get("formattedMessage").asText());
        assertTrue(second.get("timestamp").asLong() > 0);
    }
}
