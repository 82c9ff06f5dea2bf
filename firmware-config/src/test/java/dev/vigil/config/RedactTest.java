package dev.vigil.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class RedactTest {
    @Test
    void passwordsInsideUrlsAreMaskedAndNothingElse() {
        assertEquals("rtsp://cam:***@10.0.0.7:554/stream1", Redact.text("rtsp://cam:s3cr3t!@10.0.0.7:554/stream1"));
        assertEquals("ffmpeg: rtsp://admin:***@host/live: 401 Unauthorized",
                Redact.text("ffmpeg: rtsp://admin:pa:ss@host/live: 401 Unauthorized"));
        assertEquals("tcp://127.0.0.1:1883", Redact.text("tcp://127.0.0.1:1883"));
        assertEquals("rtsp://user@host/x", Redact.text("rtsp://user@host/x"));
        assertEquals("see a:b@c (no scheme)", Redact.text("see a:b@c (no scheme)"));
        assertNull(Redact.text(null));
    }

    @Test
    void everyStringOfAJsonTreeIsMasked() throws Exception {
        JsonNode n = new ObjectMapper().readTree("{\"mqtt\":{\"url\":\"ssl://dev:pw@broker:8883\",\"qos\":1},"
                + "\"cameras\":[{\"source\":{\"url\":\"rtsp://u:p@cam/1\"}}]}");
        JsonNode r = Redact.json(n);
        assertEquals("ssl://dev:***@broker:8883", r.at("/mqtt/url").asText());
        assertEquals(1, r.at("/mqtt/qos").asInt());
        assertEquals("rtsp://u:***@cam/1", r.at("/cameras/0/source/url").asText());
        assertEquals("ssl://dev:pw@broker:8883", n.at("/mqtt/url").asText(), "the original is untouched");
    }
}
