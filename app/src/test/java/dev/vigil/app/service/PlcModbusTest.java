package dev.vigil.app.service;

import static dev.vigil.app.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.ServeCommand;
import dev.vigil.app.line.LineStation;
import dev.vigil.app.line.PartRecord;
import dev.vigil.app.testing.Mbpoll;
import dev.vigil.app.testing.TestConfig;
import dev.vigil.app.testing.TestModels;
import dev.vigil.config.DeviceConfig;
import dev.vigil.trainer.SharedAssets;
import io.micronaut.context.ApplicationContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PLC handshake over Modbus TCP, driven by Debian's {@code mbpoll} against the running service: a triggered folder
 * camera of casting test images, a casting model, the signal table of docs/plc.md. Covers trigger → result bits and
 * registers → ack, a PLC that stops acknowledging, a deadline miss reported NG/late, counters and their reset, and
 * the protocol's own errors for bad requests.
 */
class PlcModbusTest {
    private static final int DEADLINE_MS = 4000;
    private static final int ACK_TIMEOUT_MS = 1500;
    @TempDir
    static Path tmp;
    static Path pkg;
    static Path frames;

    @BeforeAll
    static void setUp() throws Exception {
        Mbpoll.require();
        model(tmp);
    }

    /** A casting model and a folder of casting test frames, in {@code dir}. */
    static void model(Path dir) throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine(); // before the trainer touches ONNX Runtime
        pkg = TestModels.casting(dir, "pkg", 0, 6, 3, 7L);
        frames = dir.resolve("frames");
        TestModels.linkFrames(SharedAssets.casting().resolve("test"), frames, 0, 3);
    }

    static DeviceConfig config(Path data, DeviceConfig.Plc plc) {
        return TestConfig.offline("line1", data)
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(frames.toString(), 5,
                        true), null, "triggered"), new DeviceConfig.Camera("cam2", DeviceConfig.Source.synthetic(),
                                null, null)))
                .model(new DeviceConfig.ModelSettings(pkg.toString(), false)).plc(plc).build();
    }

    static DeviceConfig.Plc modbusPlc() {
        return new DeviceConfig.Plc(DEADLINE_MS, ACK_TIMEOUT_MS, new DeviceConfig.Modbus(true, "127.0.0.1", 0, 7,
                null), null);
    }

    /** Discrete inputs of cam1: ready, busy, result-ready, ok, ng, error, heartbeat. */
    static int[] status(Mbpoll mb) throws Exception {
        return mb.read(Mbpoll.DISCRETE_INPUT, 0, 7);
    }

    static void awaitBit(Mbpoll mb, int bit, int value, String what) {
        await(() -> read(mb, Mbpoll.DISCRETE_INPUT, bit) == value, Duration.ofSeconds(20), what);
    }

    static int read(Mbpoll mb, int type, int address) {
        try {
            return mb.read(type, address, 1)[0];
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aTriggerFromThePlcIsInspectedAndTheResultHandedOverWithTheHandshake() throws Exception {
        Path data = tmp.resolve("data-handshake");
        ApplicationContext ctx = ServeCommand.start(config(data, modbusPlc()));
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            List<PartRecord> parts = new CopyOnWriteArrayList<>();
            dev.vigil.app.line.PartStore store = ctx.getBean(VigilService.class).parts();
            p.line().partLog(r -> {
                parts.add(r);
                store.record(r); // and on to the traceability store, as in service
            });
            Mbpoll mb = new Mbpoll(p.line().modbusPort(), 7);
            await(() -> p.cameraStatus().get("cam1").state().name().equals("UP"), Duration.ofSeconds(20),
                    "camera up");
            int[] s = status(mb);
            assertEquals(1, s[0], "ready before the first trigger");
            assertEquals(0, s[1] + s[2], "neither busy nor a result");

            // the PLC writes the lot (2 ASCII characters a register) and its part number, then triggers
            assertTrue(mb.write(Mbpoll.HOLDING_REGISTER, 3, 'L' << 8 | '-', '4' << 8 | '2', 0).ok());
            assertTrue(mb.write(Mbpoll.HOLDING_REGISTER, 1, 0, 1001).ok());
            assertTrue(mb.write(Mbpoll.COIL, 0, 1).ok(), "trigger");
            awaitBit(mb, 2, 1, "result-ready");
            s = status(mb);
            assertEquals(0, s[0], "not ready until the result is acknowledged");
            assertEquals(0, s[1], "no longer busy");
            assertEquals(1, s[3] + s[4], "exactly one of ok and ng: " + java.util.Arrays.toString(s));
            int[] r = mb.read(Mbpoll.INPUT_REGISTER, 0, 19);
            assertEquals(1001, r[3] << 16 | r[4], "the part number the PLC gave");
            assertEquals(LineStation.ERROR_NONE, r[5], "no error");
            assertEquals(1, r[7], "one trigger counted");
            await(() -> parts.size() == 1, Duration.ofSeconds(5), "the part's record");
            PartRecord part = parts.get(0);
            assertEquals(1001, part.sequence());
            assertEquals("L-42", part.lot());
            assertEquals("plc", part.trigger());
            assertEquals(part.reported().equals("ok") ? 1 : 0, s[3], "the OK bit is what the record says");
            List<String> labels = p.model().labels();
            assertEquals(labels.indexOf(part.label()), r[1], "the class index is the label's place in the model");
            assertEquals(Math.round(part.score() * LineStation.SCORE_SCALE), r[2], "the score, scaled");
            // (bit 6, the heartbeat, flips every second between the two reads)
            assertEquals(r[0] & 63, s[0] | s[1] << 1 | s[2] << 2 | s[3] << 3 | s[4] << 4 | s[5] << 5,
                    "the status word mirrors the bits");
            int[] mirror = mb.read(Mbpoll.HOLDING_REGISTER, 20, 19);
            assertEquals(r[3], mirror[3], "holding registers 20.. mirror the input registers");

            // a second trigger before the acknowledgement is refused with exception 06 (busy)
            assertTrue(mb.write(Mbpoll.COIL, 0, 0).ok());
            Mbpoll.Result busy = mb.write(Mbpoll.COIL, 0, 1);
            assertFalse(busy.ok(), busy.output());
            assertTrue(busy.output().toLowerCase().contains("busy"), busy.output());

            // the acknowledgement takes the result back: ready again
            assertTrue(mb.write(Mbpoll.COIL, 1, 1).ok(), "result-ack");
            awaitBit(mb, 0, 1, "ready after the acknowledgement");
            assertEquals(0, status(mb)[2]);
            assertTrue(mb.write(Mbpoll.COIL, 1, 0).ok());

            // the PLC stops acknowledging: after plc.ackTimeoutMs the result is withdrawn with error 3
            assertTrue(mb.write(Mbpoll.COIL, 0, 1).ok(), "second trigger");
            awaitBit(mb, 2, 1, "second result");
            await(() -> parts.size() == 2, Duration.ofSeconds(5), "two parts recorded");
            assertEquals(1, parts.get(1).sequence(), "without a PLC number, the camera's own count");
            awaitBit(mb, 0, 1, "ready again after the acknowledgement timed out");
            r = mb.read(Mbpoll.INPUT_REGISTER, 0, 19);
            assertEquals(LineStation.ERROR_ACK_TIMEOUT, r[5]);
            assertTrue((r[12] << 16 | r[13]) >= 2, "errors counted (busy, ack timeout): " + r[13]);
            assertTrue(mb.write(Mbpoll.COIL, 0, 0).ok());

            // the next trigger is served; with the inspection loop stalled the deadline passes: NG, error 2 (late)
            synchronized (p.modelLockForTests()) {
                assertTrue(mb.write(Mbpoll.COIL, 0, 1).ok(), "third trigger");
                await(() -> read(mb, Mbpoll.DISCRETE_INPUT, 2) == 1, Duration.ofMillis(DEADLINE_MS + 5000),
                        "the late result");
            }
            s = status(mb);
            assertEquals(1, s[4], "a part without a verdict is NG");
            assertEquals(0, s[3]);
            r = mb.read(Mbpoll.INPUT_REGISTER, 0, 19);
            assertEquals(LineStation.ERROR_LATE, r[5]);
            assertEquals(1, r[15], "one deadline miss counted");
            assertTrue(r[18] >= DEADLINE_MS, "max processing time holds the deadline: " + r[18]);
            await(() -> parts.size() == 3, Duration.ofSeconds(5), "the late part's record");
            assertEquals("late", parts.get(2).verdict());
            assertEquals("ng", parts.get(2).reported());
            assertEquals("late", parts.get(2).error());
            assertTrue(mb.write(Mbpoll.HOLDING_REGISTER, 0, 2).ok(), "ack through the control word");
            awaitBit(mb, 0, 1, "ready");

            // counters: 3 triggers, then reset (a rising edge of coil 2)
            r = mb.read(Mbpoll.INPUT_REGISTER, 6, 10);
            assertEquals(3, r[1], "triggers");
            assertEquals(3, r[3] + r[5], "ok + ng = triggers");
            assertTrue(mb.write(Mbpoll.COIL, 2, 1).ok());
            r = mb.read(Mbpoll.INPUT_REGISTER, 6, 13);
            for (int v : r) {
                assertEquals(0, v, "every counter is zero after the reset: " + java.util.Arrays.toString(r));
            }

            // bad requests get Modbus exceptions, and nothing changes
            Mbpoll.Result outside = mb.write(Mbpoll.COIL, 250, 1);
            assertFalse(outside.ok(), "no third camera block: " + outside.output());
            assertTrue(outside.output().toLowerCase().contains("illegal data address"), outside.output());
            Mbpoll.Result readOnly = mb.write(Mbpoll.HOLDING_REGISTER, 25, 1);
            assertTrue(readOnly.output().toLowerCase().contains("illegal data address"), readOnly.output());
            Mbpoll.Result badWord = mb.write(Mbpoll.HOLDING_REGISTER, 0, 8);
            assertTrue(badWord.output().toLowerCase().contains("illegal data value"), badWord.output());
            Mbpoll.Result badLot = mb.write(Mbpoll.HOLDING_REGISTER, 3, 'A' << 8 | 1);
            assertTrue(badLot.output().toLowerCase().contains("illegal data value"), badLot.output());
            assertEquals("L-42", p.line().lots().of("cam1"), "a refused lot leaves the lot as it was");
            Mbpoll.Result wrongUnit = new Mbpoll(p.line().modbusPort(), 9).write(Mbpoll.COIL, 0, 0);
            assertFalse(wrongUnit.ok(), "another unit id is not answered: " + wrongUnit.output());
            assertEquals(1, mb.read(Mbpoll.DISCRETE_INPUT, 0, 1)[0], "still ready after the refusals");
            // cam2 (continuous) has its block at 100: its trigger is a part refused by the camera, NG with error 4
            assertTrue(mb.write(Mbpoll.COIL, 100, 1).ok());
            await(() -> read(mb, Mbpoll.DISCRETE_INPUT, 102) == 1, Duration.ofSeconds(10), "cam2's result");
            assertEquals(LineStation.ERROR_CAPTURE, mb.read(Mbpoll.INPUT_REGISTER, 105, 1)[0]);
            // every part is in the traceability store: the three of lot L-42 with what the PLC was told
            assertTrue(store.flush(Duration.ofSeconds(10)));
            List<PartRecord> stored = store.query(dev.vigil.app.line.PartStore.Query.all(java.time.Instant.EPOCH,
                    java.time.Instant.now().plusSeconds(60), "L-42", "cam1"));
            assertEquals(3, stored.size(), stored.toString());
            assertEquals(List.of(1001L, 1L, 2L), stored.stream().map(PartRecord::sequence).toList());
            assertEquals(List.of(parts.get(0).reported(), parts.get(1).reported(), "ng"), stored.stream()
                    .map(PartRecord::reported).toList());
            var meters = ctx.getBean(io.micrometer.core.instrument.MeterRegistry.class);
            double refused = meters.find("vigil.plc.refused").counters().stream()
                    .mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
            assertTrue(refused >= 6, "every refusal counted (busy, address, read-only, 2 values, unit): " + refused);
        } finally {
            ctx.close();
        }
    }
}
