package dev.vigil.app.service;

import dev.vigil.app.testing.TestConfig;

import static dev.vigil.app.service.ApiClient.send;
import static dev.vigil.app.testing.Await.await;
import static dev.vigil.app.service.ServiceEndToEndTest.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.samples.Sample;
import dev.vigil.config.DeviceConfig;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The labelling API: refused without session or CSRF, unknown labels and bad ids refused, history kept. */
class LabellingApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    @Test
    void labelsAreCheckedRecordedWithHistoryAndRefusedChangesWriteNothing() throws Exception {
        Path folder = tmp.resolve("frames");
        ApiClient.writeFrames(folder, 3, 96, 96);
        Path data = tmp.resolve("data");
        new AccountStore(data.resolve("accounts.json")).put("olga", AccountStore.Role.OPERATOR,
                "line two operator".toCharArray());
        DeviceConfig c = TestConfig.device("line3")
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(folder.toString(), 4,
                        false), null, null)))
                .offline()
                .storage(new DeviceConfig.Storage(data.toString(), null, null, null, null, null))
                .build();
        ApplicationContext ctx = ServeCommand.start(c);
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            await(() -> p.samples().count() == 3, Duration.ofSeconds(10), "collected samples");
            Sample s = p.samples().list(null, 10).get(0);
            String labelUrl = url + "/api/samples/" + s.id() + "/label";

            assertEquals(401, send("POST", labelUrl, "{\"label\":\"ok\"}", null, null).statusCode());
            var login = send("POST", url + "/api/login", "{\"name\":\"olga\",\"password\":\"line two operator\"}",
                    null, null);
            String cookie = login.headers().firstValue("set-cookie").orElseThrow().split(";")[0];
            String csrf = JSON.readTree(login.body()).get("csrf").asText();
            assertEquals(403, send("POST", labelUrl, "{\"label\":\"ok\"}", cookie, null).statusCode());
            assertEquals(List.of("ok", "defect"), List.of(JSON.readValue(get(url + "/api/classes", new String[] {cookie, csrf}).body(),
                    String[].class)));
            var unknown = send("POST", labelUrl, "{\"label\":\"scratch\"}", cookie, csrf);
            assertEquals(400, unknown.statusCode());
            assertTrue(unknown.body().contains("scratch"), unknown.body());
            assertEquals(400, send("POST", url + "/api/classes", "{\"name\":\"../etc\"}", cookie, csrf).statusCode());
            assertEquals(403, send("POST", url + "/api/classes", "{\"name\":\"scratch\"}", cookie, "x").statusCode());
            assertNull(p.samples().get(s.id()).orElseThrow().assignedLabel(), "refused requests wrote nothing");
            assertTrue(p.samples().history(s.id()).isEmpty(), "no history from refused requests");

            assertEquals(201, send("POST", url + "/api/classes", "{\"name\":\"scratch\"}", cookie, csrf).statusCode());
            assertEquals(200, send("POST", labelUrl, "{\"label\":\"scratch\"}", cookie, csrf).statusCode());
            var relabel = send("POST", labelUrl, "{\"label\":\"ok\"}", cookie, csrf);
            assertEquals("ok", JSON.readTree(relabel.body()).get("assignedLabel").asText());
            assertEquals(200, send("POST", labelUrl, "{\"label\":null}", cookie, csrf).statusCode());
            assertNull(p.samples().get(s.id()).orElseThrow().assignedLabel(), "undo clears the label");
            assertEquals(2, JSON.readTree(get(url + "/api/training/since", new String[] {cookie, csrf}).body()).get("labelledSinceLastTraining")
                    .asInt(), "two labels given, the undo does not count");
            JsonNode history = JSON.readTree(get(url + "/api/samples/" + s.id() + "/history", new String[] {cookie, csrf}).body());
            assertEquals(3, history.size());
            assertEquals("olga", history.get(1).get("who").asText());
            assertEquals("ok", history.get(1).get("label").asText());
            assertEquals("scratch", history.get(1).get("previous").asText());

            assertEquals(404, send("POST", url + "/api/samples/..%2F..%2Fetc%2Fpasswd/label", "{\"label\":\"ok\"}",
                    cookie, csrf).statusCode());
            String huge = "{\"label\":\"" + "x".repeat(2 * 1024 * 1024) + "\"}";
            int status = send("POST", labelUrl, huge, cookie, csrf).statusCode();
            assertTrue(status == 413 || status == 400, "oversized body refused: " + status);
            assertNull(p.samples().get(s.id()).orElseThrow().assignedLabel());

            Path jpeg = p.samples().imageFile(s);
            assertEquals(200, send("DELETE", url + "/api/samples/" + s.id(), null, cookie, csrf).statusCode());
            assertEquals(404, get(url + "/api/samples/" + s.id(), new String[] {cookie, csrf}).statusCode());
            assertFalse(Files.exists(jpeg));
        } finally {
            ctx.close();
        }
    }

}
