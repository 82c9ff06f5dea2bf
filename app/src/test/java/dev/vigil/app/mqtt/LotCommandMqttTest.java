package dev.vigil.app.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.line.LotCommand;
import dev.vigil.app.line.Lots;
import dev.vigil.app.testing.Mosquitto;
import dev.vigil.app.testing.TestConfig;
import dev.vigil.config.DeviceConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code <prefix>/lot/set} on a real Mosquitto: with {@code mqtt.acceptCommands} the link subscribes and a lot
 * command sets the lot (one camera or all; a bad one changes nothing; a retained one left on the broker is not
 * replayed); without it the link does not even subscribe and the lot stays as it was.
 */
class LotCommandMqttTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final String PREFIX = "vigil/line1";
    private static final List<String> CAMERAS = List.of("cam1", "cam2");
    @TempDir
    Path tmp;

    private static DeviceConfig config(String url, boolean acceptCommands) {
        return TestConfig.device("line1")
                .mqtt(new DeviceConfig.Mqtt(url, null, null, null, null, null, null, true, null, null, null)
                        .withAcceptCommands(acceptCommands))
                .build();
    }

    /** A listener as the service's: lots through {@link LotCommand#fromMqtt}, triggers noted to order events. */
    private static MqttLink.Listener listener(Lots lots, BlockingQueue<String> events) {
        return new MqttLink.Listener() {
            @Override
            public void onTrigger(String camera) {
                events.add("trigger " + camera);
            }

            @Override
            public void onLotSet(String payload) {
                LotCommand.Applied a = LotCommand.fromMqtt(lots, CAMERAS, payload);
                events.add(a == null ? "refused" : "lot " + a.cameras() + " " + a.lot());
            }
        };
    }

    @Test
    void withAcceptCommandsALotCommandSetsTheLot() throws Exception {
        Lots lots = new Lots();
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        try (Mosquitto broker = Mosquitto.launch();
                Observer operator = Observer.connect(broker.url(), "operator", false, PREFIX + "/available")) {
            operator.publish(PREFIX + "/lot/set", "{\"lot\":\"RETAINED\"}", true); // must not be replayed
            try (MqttLink link = new MqttLink(config(broker.url(), true), tmp.resolve("journal"),
                    listener(lots, events))) {
                link.start();
                operator.await(r -> r.payload().equals("online"), 1, WAIT, "online");
                operator.publish(PREFIX + "/lot/set", "{\"camera\":\"cam2\",\"lot\":\"L-7\"}", false);
                assertEquals("lot [cam2] L-7", events.poll(10, TimeUnit.SECONDS));
                assertEquals("L-7", lots.of("cam2"));
                assertNull(lots.of("cam1"), "only cam2, and the retained command was not replayed");

                operator.publish(PREFIX + "/lot/set", "{\"lot\":\"" + "x".repeat(40) + "\"}", false);
                assertEquals("refused", events.poll(10, TimeUnit.SECONDS));
                operator.publish(PREFIX + "/lot/set", "{\"camera\":\"cam9\",\"lot\":\"L-1\"}", false);
                assertEquals("refused", events.poll(10, TimeUnit.SECONDS));
                assertEquals("L-7", lots.of("cam2"), "a refused command changes nothing");

                operator.publish(PREFIX + "/lot/set", "{\"lot\":\"L-8\"}", false);
                assertEquals("lot [cam1, cam2] L-8", events.poll(10, TimeUnit.SECONDS));
                assertEquals("L-8", lots.of("cam1"));
                assertEquals("L-8", lots.of("cam2"));
                operator.publish(PREFIX + "/lot/set", "{\"camera\":\"cam1\",\"lot\":\"\"}", false);
                assertEquals("lot [cam1] null", events.poll(10, TimeUnit.SECONDS));
                assertNull(lots.of("cam1"));
            }
        }
    }

    @Test
    void withoutAcceptCommandsALotCommandIsIgnored() throws Exception {
        Lots lots = new Lots();
        lots.set("cam1", "L-1");
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        try (Mosquitto broker = Mosquitto.launch();
                Observer operator = Observer.connect(broker.url(), "operator", false, PREFIX + "/available");
                MqttLink link = new MqttLink(config(broker.url(), false), tmp.resolve("journal"),
                        listener(lots, events))) {
            link.start();
            operator.await(r -> r.payload().equals("online"), 1, WAIT, "online");
            operator.publish(PREFIX + "/lot/set", "{\"lot\":\"L-2\"}", false);
            operator.publish(PREFIX + "/cam1/trigger", "", false); // after the lot command, on a subscribed topic
            assertEquals("trigger cam1", events.poll(10, TimeUnit.SECONDS), "the link listens: triggers arrive");
            Observer.sleep(300);
            assertTrue(events.isEmpty(), "nothing else: " + events);
            assertEquals("L-1", lots.of("cam1"), "mqtt.acceptCommands off: the lot is unchanged");
            assertNull(lots.of("cam2"));
        }
    }
}
