package dev.vigil.app.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.drift.DriftWatch;
import dev.vigil.app.testing.Await;
import dev.vigil.app.testing.Mosquitto;
import dev.vigil.app.testing.TestConfig;
import dev.vigil.config.DeviceConfig;
import dev.vigil.core.model.Manifest;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drift watch on a real Mosquitto: frames like the reference keep the retained {@code vigil.drift/1} state quiet,
 * shifted frames raise the alarm (an alert and the retained state, seen by a dashboard that connects later), and
 * frames like the reference again clear it.
 */
class DriftStateTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final String STATE = "vigil/line1/cam1/drift";
    private static final String ALERT = "vigil/line1/cam1/drift/alert";

    @TempDir
    Path tmp;

    /** Frames whose standardised features have mean {@code shift} and spread 1 in every one of 64 features. */
    private static void feed(DriftWatch w, Manifest.Drift ref, Random rnd, int frames, double shift) {
        for (int i = 0; i < frames; i++) {
            float[] z = new float[64];
            for (int j = 0; j < z.length; j++) {
                z[j] = (float) (rnd.nextGaussian() + shift);
            }
            w.observe("cam1", "model-a", ref, z, Instant.now());
        }
    }

    @Test
    void quietOnReferenceFramesAlarmOnShiftedOnesAndClearedAfter() throws Exception {
        try (Mosquitto broker = Mosquitto.launch()) {
            DeviceConfig config = TestConfig.device("line1")
                    .mqtt(new DeviceConfig.Mqtt(broker.url(), null, null, null, null, null, 100, null, null, null,
                            null))
                    .drift(new DeviceConfig.Drift(true, 20, 3.0)).build();
            try (MqttLink link = new MqttLink(config, tmp.resolve("journal"), null);
                    Observer dashboard = Observer.connect(broker.url(), "dashboard", false, STATE, ALERT)) {
                dashboard.awaitSubscribed(1);
                link.start();
                Await.await(link::connected, WAIT, "the link to connect");
                SimpleMeterRegistry metrics = new SimpleMeterRegistry();
                DriftWatch watch = new DriftWatch(config, () -> link, metrics);
                Manifest.Drift ref = new Manifest.Drift("drift_features", "class", 100, null, 0.0);
                Random rnd = new Random(5);

                feed(watch, ref, rnd, 60, 0);
                DriftPayload quiet = watch.state("cam1");
                assertFalse(quiet.alarm());
                assertTrue(quiet.score() > 0.3 && quiet.score() < 2.5, "score on reference frames " + quiet.score());
                List<Observer.Received> states = dashboard.await(r -> r.topic().equals(STATE), 1, WAIT,
                        "a drift state");
                DriftPayload published = Payloads.parse(states.get(0).payload(), DriftPayload.class);
                assertEquals(DriftPayload.SCHEMA, published.schema());
                assertEquals("model-a", published.model());
                assertFalse(published.alarm());
                assertTrue(dashboard.received(r -> r.topic().equals(ALERT)).isEmpty(), "no alarm yet");

                // a shift of one standard deviation in every feature: the score goes to about 1 + 20
                feed(watch, ref, rnd, 20, 1.0);
                assertTrue(watch.state("cam1").alarm());
                List<Observer.Received> raised = dashboard.await(r -> r.topic().equals(ALERT), 1, WAIT, "the alarm");
                DriftPayload alert = Payloads.parse(raised.get(0).payload(), DriftPayload.class);
                assertEquals("raised", alert.event());
                assertTrue(alert.score() >= 3.0, "alarm score " + alert.score());
                assertEquals(1.0, metrics.get("vigil.drift.alarms").tag("camera", "cam1").counter().count());
                assertTrue(metrics.get("vigil.drift.score").tag("camera", "cam1").gauge().value() >= 3.0);

                try (Observer late = Observer.connect(broker.url(), "late", false, STATE)) {
                    List<Observer.Received> retained = late.await(r -> r.topic().equals(STATE), 1, WAIT,
                            "the retained state");
                    assertTrue(retained.get(0).retained());
                    DriftPayload state = Payloads.parse(retained.get(0).payload(), DriftPayload.class);
                    assertTrue(state.alarm(), "the retained state says the alarm is raised");
                    assertNull(state.event());
                }

                feed(watch, ref, rnd, 40, 0);
                assertFalse(watch.state("cam1").alarm());
                dashboard.await(r -> r.topic().equals(ALERT) && r.payload().contains("\"cleared\""), 1, WAIT,
                        "the alarm cleared");
            }
        }
    }
}
