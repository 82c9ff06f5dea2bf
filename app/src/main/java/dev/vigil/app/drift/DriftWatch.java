package dev.vigil.app.drift;

import dev.vigil.app.mqtt.DriftPayload;
import dev.vigil.app.mqtt.MqttLink;
import dev.vigil.config.DeviceConfig;
import dev.vigil.config.Reconfigurable;
import dev.vigil.core.drift.DriftWindow;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The drift stage: each camera's frames, as the serving model's standardised features, over a sliding window
 * ({@link DriftWindow}) give a drift score — about 1 while the frames look like the training parts, growing as the
 * camera, lens, lighting or product moves away from them. The score is a metric ({@code vigil_drift_score}), part of
 * the status and a retained MQTT state; reaching {@code drift.threshold} raises the camera's alarm (an alert on
 * MQTT, a log line, {@code vigil_drift_alarms_total}), and falling below 80% of it clears the alarm. A window
 * restarts when another model serves (its features differ) or the drift settings change. Called by the inference
 * worker; states are read from any thread.
 */
public final class DriftWatch implements Reconfigurable {
    private static final System.Logger LOG = System.getLogger(DriftWatch.class.getName());
    /** The alarm clears when the score falls below this share of the threshold (no flapping around it). */
    public static final double CLEAR_SHARE = 0.8;
    private final Supplier<MqttLink> mqtt;
    private final MeterRegistry metrics;
    private volatile DeviceConfig.Drift settings;
    private final Map<String, CameraWindow> cameras = new ConcurrentHashMap<>();

    /** One camera's window and alarm. */
    private static final class CameraWindow {
        final String model;
        final DriftWindow window;
        volatile double score = Double.NaN;
        volatile boolean alarm;
        volatile Instant since;
        volatile int frames;
        long sincePublished;

        CameraWindow(String model, DriftWindow window) {
            this.model = model;
            this.window = window;
        }
    }

    public DriftWatch(DeviceConfig config, Supplier<MqttLink> mqtt, MeterRegistry metrics) {
        this.settings = config.drift();
        this.mqtt = mqtt;
        this.metrics = metrics;
    }

    /**
     * One frame of {@code camera} as model {@code modelId}'s standardised features ({@code z}; null when the model
     * gives none: nothing is watched); {@code reference} is the model's drift block (it normalises the score).
     */
    public void observe(String camera, String modelId, dev.vigil.core.model.Manifest.Drift reference, float[] z,
            Instant at) {
        DeviceConfig.Drift s = settings;
        if (z == null || reference == null || !s.enabled()) {
            return;
        }
        CameraWindow w = cameras.get(camera);
        if (w == null || !w.model.equals(modelId) || w.window.dims() != z.length || w.window.size() != s.window()) {
            boolean wasAlarmed = w != null && w.alarm;
            w = new CameraWindow(modelId, new DriftWindow(s.window(), z.length));
            cameras.put(camera, w);
            register(camera);
            if (wasAlarmed) {
                LOG.log(System.Logger.Level.INFO, "camera {0}: drift window restarted (model {1}); the alarm is"
                        + " cleared until a full window says otherwise", camera, modelId);
                publishAlert(camera, w, s, at, "cleared");
            }
        }
        double score = reference.normalise(w.window.add(z), s.window());
        w.frames = w.window.frames();
        w.score = score;
        if (Double.isNaN(score)) {
            return;
        }
        boolean raise = !w.alarm && score >= s.threshold();
        boolean clear = w.alarm && score < CLEAR_SHARE * s.threshold();
        if (raise) {
            w.alarm = true;
            w.since = at;
            Counter.builder("vigil.drift.alarms").tag("camera", camera)
                    .description("drift alarms raised").register(metrics).increment();
            LOG.log(System.Logger.Level.WARNING, "camera {0}: drift alarm, score {1} reached the threshold {2} over"
                    + " the last {3} frames: the frames no longer look like the parts model {4} was trained on"
                    + " (camera, lens, lighting or product changed?); check the camera or adapt the model",
                    camera, String.format(java.util.Locale.ROOT, "%.2f", score), s.threshold(), s.window(), modelId);
            publishAlert(camera, w, s, at, "raised");
        } else if (clear) {
            w.alarm = false;
            w.since = null;
            LOG.log(System.Logger.Level.INFO, "camera {0}: drift alarm cleared (score {1})", camera,
                    String.format(java.util.Locale.ROOT, "%.2f", score));
            publishAlert(camera, w, s, at, "cleared");
        }
        // the retained state: on every change of the alarm and once per window of frames
        if (raise || clear || ++w.sincePublished >= s.window()) {
            w.sincePublished = 0;
            MqttLink link = mqtt.get();
            if (link != null) {
                link.publishDriftState(payload(camera, w, s, at, null));
            }
        }
    }

    private void publishAlert(String camera, CameraWindow w, DeviceConfig.Drift s, Instant at, String event) {
        MqttLink link = mqtt.get();
        if (link != null) {
            link.publishDriftAlert(payload(camera, w, s, at, event));
            link.publishDriftState(payload(camera, w, s, at, null));
        }
    }

    private static DriftPayload payload(String camera, CameraWindow w, DeviceConfig.Drift s, Instant at,
            String event) {
        return DriftPayload.of(camera, w.model, at, s.window(), w.frames, w.score, s.threshold(), w.alarm, w.since,
                event);
    }

    private void register(String camera) {
        Gauge.builder("vigil.drift.score", cameras, m -> {
            CameraWindow w = m.get(camera);
            return w == null ? Double.NaN : w.score;
        }).tag("camera", camera).description("drift score of the camera's last full window (about 1 = like the"
                + " training parts)").register(metrics);
    }

    /** Every watched camera's state now, by camera id. */
    public Map<String, DriftPayload> states() {
        Map<String, DriftPayload> out = new TreeMap<>();
        DeviceConfig.Drift s = settings;
        Instant now = Instant.now();
        cameras.forEach((camera, w) -> out.put(camera, payload(camera, w, s, now, null)));
        return out;
    }

    /** The state of one camera; null while it has no window (no model with drift features has seen its frames). */
    public DriftPayload state(String camera) {
        CameraWindow w = cameras.get(camera);
        return w == null ? null : payload(camera, w, settings, Instant.now(), null);
    }

    @Override
    public void reconfigure(DeviceConfig old, DeviceConfig next, Report report) {
        cameras.keySet().removeIf(id -> next.camera(id).isEmpty());
        if (!old.drift().equals(next.drift())) {
            DeviceConfig.Drift s = next.drift();
            settings = s;
            // windows restart under the new window size and threshold; a raised alarm is cleared, and said so
            Instant now = Instant.now();
            cameras.forEach((camera, w) -> {
                if (w.alarm) {
                    w.alarm = false;
                    w.since = null;
                    w.score = Double.NaN;
                    w.frames = 0;
                    publishAlert(camera, w, s, now, "cleared");
                }
            });
            cameras.clear();
            report.hot("drift");
        }
    }
}
