package dev.vigil.app.mqtt;

import dev.vigil.app.testing.TestConfig;

import dev.vigil.app.testing.Await;

import static dev.vigil.app.mqtt.Observer.on;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.testing.Mosquitto;
import dev.vigil.config.DeviceConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link MqttLink} against a real Mosquitto, observed by a plain Paho client: availability and the Last Will,
 * retained status and model state, commands (also after a broker restart), and alert delivery through a broker
 * outage, a restart of the service and a full quota.
 */
class MqttLinkTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final String PREFIX = "vigil/line1";
    private static final String AVAILABLE = PREFIX + "/available";
    private static final String ALERTS = PREFIX + "/+/alert";

    @TempDir
    Path tmp;

    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        cleanup.add(c);
        return c;
    }

    private static DeviceConfig config(String url, int quota) {
        return TestConfig.device("line1")
                .mqtt(new DeviceConfig.Mqtt(url, null, null, null, null, null, quota, true, null, null,
                        null).withAcceptCommands(true))
                .build();
    }

    private MqttLink link(Mosquitto broker, int quota, MqttLink.Listener listener) {
        return closeLater(new MqttLink(config(broker.url(), quota), tmp.resolve("journal"), listener));
    }

    private Observer observer(Mosquitto broker, String id, boolean persistent, String... filters)
            throws Exception {
        return closeLater(Observer.connect(broker.url(), id, persistent, filters));
    }

    private static AlertPayload alert(int i) {
        return AlertPayload.of(String.format("alert-%03d", i), Instant.parse("2026-03-01T12:00:00Z").plusSeconds(i),
                "line1", i % 2 == 0 ? "cam1" : "cam2", "scratch", 0.9, "defect", "m-1", null);
    }

    private static List<String> ids(List<Observer.Received> messages) {
        return messages.stream().map(m -> Payloads.parse(m.payload(), AlertPayload.class).id()).toList();
    }

    private static List<String> expectedIds(int from, int to) {
        return IntStream.range(from, to).mapToObj(i -> String.format("alert-%03d", i)).toList();
    }

    private static void await(BooleanSupplier condition, String what) {
        Await.await(condition, WAIT, what);
    }

    @Test
    void announcesOnlineAndTheWillSaysOfflineWhenTheServiceDies() throws Exception {
        try (Mosquitto broker = Mosquitto.launch()) {
            Observer watcher = observer(broker, "watcher", false, AVAILABLE);
            MqttLink link = link(broker, 100, null);
            link.start();
            watcher.await(r -> r.payload().equals("online"), 1, WAIT, "online");
            assertTrue(link.connected());

            link.crash(); // no DISCONNECT: the broker publishes the Last Will
            watcher.await(r -> r.payload().equals("offline"), 1, WAIT, "the will");
            Observer late = observer(broker, "late", false, AVAILABLE);
            List<Observer.Received> seen = late.await(on(AVAILABLE), 1, WAIT, "retained availability");
            assertEquals("offline", seen.get(0).payload());
            assertTrue(seen.get(0).retained());
        }
    }

    @Test
    void aCleanCloseSaysOfflineRetained() throws Exception {
        try (Mosquitto broker = Mosquitto.launch()) {
            Observer watcher = observer(broker, "watcher", false, AVAILABLE);
            MqttLink link = link(broker, 100, null);
            link.start();
            watcher.await(r -> r.payload().equals("online"), 1, WAIT, "online");
            link.close();
            assertFalse(link.connected());
            watcher.await(r -> r.payload().equals("offline"), 1, WAIT, "offline on close");
            Observer late = observer(broker, "late", false, AVAILABLE);
            assertEquals("offline", late.await(on(AVAILABLE), 1, WAIT, "retained availability").get(0).payload());
        }
    }

    @Test
    void statusAndModelStateAreRetainedForLateSubscribersAndPublishedOnConnect() throws Exception {
        try (Mosquitto broker = Mosquitto.prepared(false)) {
            MqttLink link = link(broker, 100, null);
            link.start();
            // published while the broker is down: the latest goes out on connection
            link.publishModelState(ModelStatePayload.of("m-0", null, null, Instant.now()));
            link.publishModelState(PayloadsTest.modelState());
            broker.start();
            await(link::connected, "connected");
            Observer probe = observer(broker, "probe", false, PREFIX + "/status");
            link.publishStatus(PayloadsTest.status());
            probe.await(on(PREFIX + "/status"), 1, WAIT, "the status at the broker");
            Observer dashboard = observer(broker, "dashboard", false, PREFIX + "/status", PREFIX + "/model/state");
            List<Observer.Received> got = dashboard.await(r -> true, 2, WAIT, "retained status and model state");
            Observer.Received status = dashboard.received(on(PREFIX + "/status")).get(0);
            Observer.Received model = dashboard.received(on(PREFIX + "/model/state")).get(0);
            assertTrue(status.retained() && model.retained(), got.toString());
            assertEquals(PayloadsTest.status(), Payloads.parse(status.payload(), StatusPayload.class));
            assertEquals(PayloadsTest.modelState(), Payloads.parse(model.payload(), ModelStatePayload.class),
                    "the latest model state, published on connection");
        }
    }

    @Test
    void triggersAndCommandsReachTheListenerAlsoAfterABrokerRestart() throws Exception {
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        MqttLink.Listener listener = new MqttLink.Listener() {
            @Override
            public void onTrigger(String camera) {
                events.add("trigger " + camera);
            }

            @Override
            public void onModelCommand(String payload) {
                events.add("model " + payload);
            }

            @Override
            public void onConfigSet(String payload) {
                events.add("config " + payload);
            }
        };
        try (Mosquitto broker = Mosquitto.launch()) {
            Observer operator = observer(broker, "operator", false, AVAILABLE);
            // A retained command left on the broker must not be executed on connection.
            operator.publish(PREFIX + "/model/set", "{\"action\":\"rollback\"}", true);
            MqttLink link = link(broker, 100, listener);
            link.start();
            operator.await(r -> r.payload().equals("online"), 1, WAIT, "online");
            operator.publish(PREFIX + "/cam2/trigger", "", false);
            operator.publish(PREFIX + "/model/set", "{\"action\":\"promote\",\"model\":\"m-2\"}", false);
            operator.publish(PREFIX + "/config/set", "{\"schemaVersion\":1}", false);
            operator.publish("vigil/line2/cam1/trigger", "", false); // another device
            assertEquals("trigger cam2", events.poll(5, TimeUnit.SECONDS));
            assertEquals("model {\"action\":\"promote\",\"model\":\"m-2\"}", events.poll(5, TimeUnit.SECONDS));
            assertEquals("config {\"schemaVersion\":1}", events.poll(5, TimeUnit.SECONDS));

            broker.stop(); // forgets every subscription: the link must subscribe again
            await(() -> !link.connected(), "the link noticing the outage");
            broker.start();
            Observer after = observer(broker, "operator-2", false, AVAILABLE);
            // "online" is published after the subscriptions, so once it is seen the link listens again
            after.await(r -> r.payload().equals("online"), 1, WAIT, "online after the restart");
            after.publish(PREFIX + "/cam1/trigger", "now", false);
            assertEquals("trigger cam1", events.poll(5, TimeUnit.SECONDS));
            Observer.sleep(200);
            assertTrue(events.isEmpty(), "nothing else (no retained command, no other device): " + events);
        }
    }

    /**
     * The dashboard is subscribed before (persistent session) and offline during the test, so that the broker
     * queues the alerts for it: what it finally receives is exactly what the link delivered to the broker. (A
     * dashboard connected through the broker's restart may get a message twice from the broker itself: Mosquitto
     * redelivers, flagged DUP, what it had sent the dashboard without seeing the dashboard's PUBACK before it
     * stopped. That is the dashboard's own QoS 1 leg, and why alerts carry a stable id.)
     */
    @Test
    void alertsSurviveABrokerOutageExactlyOnceAndInOrder() throws Exception {
        try (Mosquitto broker = Mosquitto.launchPersistent()) {
            observer(broker, "dashboard", true, ALERTS).close(); // subscribed; the broker keeps its queue
            MqttLink link = link(broker, 1000, null);
            link.start();
            await(link::connected, "connected");
            for (int i = 0; i < 10; i++) {
                assertTrue(link.publishAlert(alert(i)));
            }
            broker.stop(); // some of the first 10 are still in flight
            for (int i = 10; i < 30; i++) {
                assertTrue(link.publishAlert(alert(i)), "accepted while the broker is down");
            }
            await(() -> !link.connected(), "the link noticing the outage");
            assertTrue(link.alertQueueDepth() >= 20, "queued: " + link.alertQueueDepth());
            broker.start();
            for (int i = 30; i < 50; i++) { // racing the reconnection and the backlog
                assertTrue(link.publishAlert(alert(i)));
                Observer.sleep(i % 5 == 0 ? 20 : 0);
            }
            await(() -> link.alertsDelivered() == 50, "50 alerts acknowledged (" + link.alertsDelivered() + ")");
            assertEquals(0, link.alertQueueDepth());
            assertEquals(0, link.alertOverflow());

            Observer dashboard = observer(broker, "dashboard", true); // back: its queue is delivered
            dashboard.await(r -> r.topic().endsWith("/alert"), 50, WAIT, "50 alerts at the dashboard");
            Observer.sleep(300); // would any duplicate follow?
            List<Observer.Received> got = dashboard.received(r -> r.topic().endsWith("/alert"));
            assertEquals(expectedIds(0, 50), ids(got), "every alert exactly once, in order");
            assertEquals(25, dashboard.received(on(PREFIX + "/cam1/alert")).size(), "per-camera topics");
        }
    }

    @Test
    void alertsWaitingOnDiskAreDeliveredByTheNextStartOfTheService() throws Exception {
        try (Mosquitto broker = Mosquitto.launchPersistent()) {
            Observer dashboard = observer(broker, "dashboard", true, ALERTS);
            broker.stop();

            MqttLink first = closeLater(new MqttLink(config(broker.url(), 1000), tmp.resolve("journal"), null));
            first.start();
            for (int i = 0; i < 20; i++) {
                assertTrue(first.publishAlert(alert(i)));
            }
            assertEquals(20, first.alertQueueDepth());
            first.close();

            MqttLink second = link(broker, 1000, null);
            assertEquals(20, second.alertQueueDepth(), "read back from the journal");
            second.start();
            broker.start();
            List<Observer.Received> got = dashboard.await(r -> r.topic().endsWith("/alert"), 20, WAIT,
                    "20 alerts after the restart");
            await(() -> second.alertQueueDepth() == 0, "the journal drained");
            Observer.sleep(300);
            got = dashboard.received(r -> r.topic().endsWith("/alert"));
            assertEquals(expectedIds(0, 20), ids(got), "in order, once");
            assertEquals(20, second.alertsDelivered());
        }
    }

    @Test
    void alertsJournaledBeforeACrashAreDeliveredAfterIt() throws Exception {
        try (Mosquitto broker = Mosquitto.launch()) {
            Observer dashboard = observer(broker, "dashboard", false, ALERTS);
            broker.stop();
            MqttLink first = closeLater(new MqttLink(config(broker.url(), 1000), tmp.resolve("journal"), null));
            first.start();
            for (int i = 0; i < 10; i++) {
                first.publishAlert(alert(i));
            }
            Path log = tmp.resolve("journal").resolve(AlertJournal.LOG);
            await(() -> lines(log) == 10, "10 alerts on disk");
            first.crash();

            MqttLink second = link(broker, 1000, null);
            assertEquals(10, second.alertQueueDepth());
            broker.start();
            dashboard.awaitSubscribed(2); // the broker forgot it: it subscribed again on reconnection
            second.start();
            List<Observer.Received> got = dashboard.await(r -> r.topic().endsWith("/alert"), 10, WAIT, "10 alerts");
            assertEquals(expectedIds(0, 10), ids(got));
        }
    }

    @Test
    void theQuotaKeepsTheOldestAndCountsTheRest() throws Exception {
        try (Mosquitto broker = Mosquitto.launchPersistent()) {
            Observer dashboard = observer(broker, "dashboard", true, ALERTS);
            broker.stop();
            MqttLink link = link(broker, 5, null);
            link.start();
            long t0 = System.nanoTime();
            int accepted = 0;
            for (int i = 0; i < 8; i++) {
                accepted += link.publishAlert(alert(i)) ? 1 : 0;
            }
            assertTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(500), "publishing never blocks");
            assertEquals(5, accepted);
            assertEquals(5, link.alertQueueDepth());
            assertEquals(3, link.alertOverflow());
            broker.start();
            List<Observer.Received> got = dashboard.await(r -> r.topic().endsWith("/alert"), 5, WAIT, "5 alerts");
            await(() -> link.alertQueueDepth() == 0, "the queue drained");
            assertEquals(expectedIds(0, 5), ids(got));
            assertTrue(link.publishAlert(alert(8)), "room again");
            assertEquals(3, link.alertOverflow());
        }
    }

    @Test
    void inspectionsAreLiveOnlyAndStartDoesNotNeedABroker() throws Exception {
        try (Mosquitto broker = Mosquitto.prepared(false)) {
            MqttLink link = link(broker, 100, null);
            link.start(); // no broker: returns, does not throw
            assertFalse(link.connected());
            assertFalse(link.publishInspection(PayloadsTest.inspection()), "dropped while disconnected");
            broker.start();
            await(link::connected, "connected once the broker is up");
            Observer dashboard = observer(broker, "dashboard", false, PREFIX + "/+/inspection");
            assertTrue(link.publishInspection(PayloadsTest.inspection()));
            Observer.Received r = dashboard.await(on(PREFIX + "/cam1/inspection"), 1, WAIT, "inspection").get(0);
            assertEquals(PayloadsTest.inspection(), Payloads.parse(r.payload(), InspectionPayload.class));
        }
    }

    private static long lines(Path file) {
        try {
            return Files.exists(file) ? Files.readAllLines(file).size() : 0;
        } catch (java.io.IOException e) {
            return 0;
        }
    }
}
