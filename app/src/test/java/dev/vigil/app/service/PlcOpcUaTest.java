package dev.vigil.app.service;

import static dev.vigil.app.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.line.PartRecord;
import dev.vigil.app.testing.NodeOpcUa;
import dev.vigil.config.DeviceConfig;
import io.micronaut.context.ApplicationContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The same handshake over OPC UA, with npm's node-opcua as the PLC: a Vigil operator account signs in (anonymous and
 * a wrong password are refused), writes the lot and Trigger, waits for ResultReady, reads the result nodes,
 * acknowledges; bad writes get OPC UA status codes.
 */
class PlcOpcUaTest {
    @org.junit.jupiter.api.io.TempDir
    static Path tmp;

    @BeforeAll
    static void setUp() throws Exception {
        NodeOpcUa.require();
        PlcModbusTest.model(tmp);
    }

    @Test
    void aPlcSignedInAsAnOperatorRunsTheHandshakeAndBadWritesGetStatusCodes() throws Exception {
        Path data = tmp.resolve("data-opcua");
        Files.createDirectories(data);
        new AccountStore(data.resolve("accounts.json")).put("plc1", AccountStore.Role.OPERATOR,
                "line one plc secret".toCharArray());
        new AccountStore(data.resolve("accounts.json")).put("vera", AccountStore.Role.VIEWER,
                "only looking here".toCharArray());
        DeviceConfig.Plc plc = new DeviceConfig.Plc(4000, 3000, null, new DeviceConfig.OpcUa(true, "127.0.0.1", 0,
                null, null));
        ApplicationContext ctx = ServeCommand.start(PlcModbusTest.config(data, plc));
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            List<PartRecord> parts = new CopyOnWriteArrayList<>();
            p.line().partLog(parts::add);
            await(() -> p.cameraStatus().get("cam1").state().name().equals("UP"), Duration.ofSeconds(20),
                    "camera up");
            String endpoint = p.line().opcuaEndpoint();
            JsonNode r = NodeOpcUa.run(endpoint, "cam1", "plc1", "line one plc secret", "handshake", Map.of(), 120);
            assertTrue(r.get("anonymous").asText().startsWith("refused"), r.toString());
            assertEquals("refused", r.get("wrongPassword").asText(), r.toString());
            assertTrue(r.get("readyBefore").asBoolean(), r.toString());
            assertEquals("Good", r.get("writeLot").asText());
            assertEquals("Good", r.get("writeTrigger").asText());
            assertTrue(r.get("resultReady").asBoolean(), "the result came: " + r);
            assertTrue(r.get("Ok").asBoolean() ^ r.get("Ng").asBoolean(), r.toString());
            assertEquals(0, r.get("ErrorCode").asInt(), r.toString());
            assertEquals(1, r.get("PartSequence").asInt(), r.toString());
            assertEquals("LOT-7", r.get("Lot").asText());
            assertEquals(1, r.get("Counters/Triggers").asInt());
            await(() -> parts.size() == 1, Duration.ofSeconds(5), "the part's record");
            PartRecord part = parts.get(0);
            assertEquals("LOT-7", part.lot());
            assertEquals("plc", part.trigger());
            assertEquals(part.reported().equals("ok"), r.get("Ok").asBoolean(), "the Ok node is what the record says");
            assertEquals(part.label(), r.get("ClassLabel").asText());
            assertEquals(p.model().labels().indexOf(part.label()), r.get("ClassIndex").asInt());
            assertEquals(part.score(), r.get("Score").asDouble(), 1e-4);
            assertEquals("BadInvalidState", r.get("triggerWhileNotReady").asText(), "a trigger before the ack");
            assertEquals("Good", r.get("writeAck").asText());
            assertTrue(r.get("readyAfterAck").asBoolean(), r.toString());
            assertEquals("BadNotWritable", r.get("writeReadOnly").asText());
            assertEquals("BadTypeMismatch", r.get("writeWrongType").asText());
            assertEquals("BadOutOfRange", r.get("writeLongLot").asText());
            assertEquals("BadNodeIdUnknown", r.get("writeUnknown").asText());
            assertEquals("LOT-7", r.get("lotAfter").asText(), "a refused lot leaves the lot as it was");
            // a viewer account cannot drive the line
            JsonNode viewer = NodeOpcUa.run(endpoint, "cam1", "vera", "only looking here", "signin", Map.of(), 60);
            assertEquals("refused", viewer.get("signin").asText(), "a viewer account: " + viewer);

            // certificate security: the signed and encrypted endpoint refuses a client certificate it does not trust
            // (the server files it under pki/rejected); once an admin moves it to pki/trusted/certs it is accepted
            JsonNode untrusted = NodeOpcUa.run(endpoint, "cam1", "plc1", "line one plc secret", "secure", Map.of(),
                    60);
            assertTrue(untrusted.get("secure").asText().startsWith("refused"), "an untrusted client: " + untrusted);
            Path rejected = data.resolve("pki/rejected");
            List<Path> certs;
            try (var s = Files.list(rejected)) {
                certs = s.filter(f -> f.toString().endsWith(".der")).toList();
            }
            assertEquals(1, certs.size(), "the client's certificate was filed as rejected: " + certs);
            Path trusted = data.resolve("pki/trusted/certs");
            Files.createDirectories(trusted);
            Files.move(certs.get(0), trusted.resolve(certs.get(0).getFileName()));
            await(() -> {
                try {
                    return NodeOpcUa.run(endpoint, "cam1", "plc1", "line one plc secret", "secure", Map.of(), 60)
                            .get("secure").asText().equals("accepted");
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }, Duration.ofSeconds(90), "the trusted client accepted on the basic256sha256 endpoint");
        } finally {
            ctx.close();
        }
    }
}
