package dev.vigil.app.service;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.app.capture.CameraStatus;
import dev.vigil.app.mqtt.ConfigStatePayload;
import dev.vigil.config.ConfigException;
import dev.vigil.config.ConfigLoader;
import dev.vigil.config.ConfigStore;
import dev.vigil.config.DeviceConfig;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Remote configuration changes: from {@code PUT /api/config} and {@code vigil/<device>/config/set}, through the one
 * validation path ({@link ConfigStore#apply}, which refuses an invalid change whole and writes a valid one atomically
 * as a new snapshot), into the running service ({@link InspectionPipeline#reconfigure}), answered on
 * {@code config/state}. After a change the service is watched for {@code changes.graceSeconds}: a camera that was up
 * and is now down, a camera the change added or restarted that does not come up, or a model that fails to load, and
 * the previous configuration is restored by itself (answered as {@code rolled-back}).
 */
public final class ConfigChanges implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ConfigChanges.class.getName());
    private static final long CHECK_MS = 250;

    private final ConfigStore store;
    private final InspectionPipeline pipeline;
    private final ScheduledExecutorService watch = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "vigil-config-grace");
        t.setDaemon(true);
        return t;
    });
    private ScheduledFuture<?> grace;
    private volatile ConfigStatePayload last;

    public ConfigChanges(ConfigStore store, InspectionPipeline pipeline) {
        this.store = store;
        this.pipeline = pipeline;
        last = ConfigStatePayload.of(null, "applied", store.current().version(), List.of(), List.of(), List.of(),
                "start", Instant.now());
        pipeline.mqtt().publishConfigState(last);
        pipeline.configCommands(this::onMqtt);
    }

    public ConfigStore store() {
        return store;
    }

    /** The latest answer (what {@code config/state} carries). */
    public ConfigStatePayload last() {
        return last;
    }

    /** Validates and applies a change; the answer says what happened (nothing, when refused). */
    public synchronized ConfigStatePayload apply(JsonNode change, ConfigStore.Mode mode, String origin,
            String requestId) {
        return change(() -> store.apply(change, mode, origin), origin, requestId);
    }

    /** Applies an earlier snapshot again (a rollback is itself a new version). */
    public synchronized ConfigStatePayload rollback(int version, String origin, String requestId) {
        return change(() -> store.rollback(version, origin), origin, requestId);
    }

    /** A step of the store that writes a new version. */
    private interface StoreStep {
        ConfigStore.Current run() throws IOException;
    }

    /** Runs a store step; a refusal is answered and changes nothing, a new version is put into the service. */
    private ConfigStatePayload change(StoreStep step, String origin, String requestId) {
        ConfigStore.Current before = store.current();
        ConfigStore.Current after;
        try {
            after = step.run();
        } catch (ConfigException e) {
            return answer(requestId, "refused", before.version(), e.problems(), null, origin);
        } catch (IOException e) {
            return answer(requestId, "refused", before.version(), List.of("the configuration file "
                    + store.file() + " cannot be written: " + e.getMessage()), null, origin);
        }
        return put(before, after, origin, requestId);
    }

    private ConfigStatePayload put(ConfigStore.Current before, ConfigStore.Current after, String origin,
            String requestId) {
        Map<String, CameraStatus> statusBefore = pipeline.cameraStatus();
        InspectionPipeline.Reconfigured r = pipeline.reconfigure(after.config());
        ConfigStatePayload a = answer(requestId, "applied", after.version(), List.of(), r, origin);
        watchGrace(before, after, r, statusBefore, origin, requestId);
        return a;
    }

    private ConfigStatePayload answer(String requestId, String result, int version, List<String> problems,
            InspectionPipeline.Reconfigured r, String origin) {
        ConfigStatePayload p = ConfigStatePayload.of(requestId, result, version, problems,
                r == null ? List.of() : r.restartNeeded(), r == null ? List.of() : r.camerasRestarted(), origin,
                Instant.now());
        last = p;
        pipeline.mqtt().publishConfigState(p);
        LOG.log(result.equals("applied") ? System.Logger.Level.INFO : System.Logger.Level.WARNING,
                "configuration change from {0}: {1}, version {2}{3}", origin, result, version,
                problems.isEmpty() ? "" : ": " + String.join("; ", problems));
        return p;
    }

    /** Watches the service after a change; restores the previous version if it turns unhealthy in time. */
    private void watchGrace(ConfigStore.Current before, ConfigStore.Current after, InspectionPipeline.Reconfigured r,
            Map<String, CameraStatus> statusBefore, String origin, String requestId) {
        if (grace != null) {
            grace.cancel(false);
        }
        int seconds = after.config().changes().graceSeconds();
        if (seconds == 0) {
            return;
        }
        List<String> touched = r.camerasRestarted().stream().map(s -> s.split(" ")[0]).toList();
        Instant until = Instant.now().plus(Duration.ofSeconds(seconds));
        String modelErrorBefore = pipeline.modelError();
        grace = watch.scheduleWithFixedDelay(() -> {
            try {
                synchronized (this) {
                    if (store.current().version() != after.version()) {
                        throw new CancelledGrace(); // another change came: it has its own watch
                    }
                    List<String> why = unhealthy(after.config(), statusBefore, touched, modelErrorBefore);
                    if (!why.isEmpty()) {
                        restore(before, after, why, origin, requestId);
                        throw new CancelledGrace();
                    }
                    if (Instant.now().isAfter(until)) {
                        throw new CancelledGrace();
                    }
                }
            } catch (CancelledGrace e) {
                throw e;
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "configuration grace check: " + e.getMessage());
            }
        }, CHECK_MS, CHECK_MS, TimeUnit.MILLISECONDS);
    }

    /** Ends a scheduled grace check (an exception is how a fixed-delay task stops itself). */
    private static final class CancelledGrace extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CancelledGrace() {
            super(null, null, false, false);
        }
    }

    private List<String> unhealthy(DeviceConfig c, Map<String, CameraStatus> before, List<String> touched,
            String modelErrorBefore) {
        List<String> why = new ArrayList<>();
        Map<String, CameraStatus> now = pipeline.cameraStatus();
        for (int i = 0; i < c.cameras().size(); i++) {
            String id = c.cameras().get(i).id();
            CameraStatus s = now.get(id);
            if (s == null || s.state() != CameraStatus.State.DOWN) {
                continue;
            }
            CameraStatus was = before.get(id);
            boolean wasUp = was != null && was.state() != CameraStatus.State.DOWN;
            if (wasUp || touched.contains(id)) {
                why.add("cameras[" + i + "] (" + id + ") is down after the change: " + s.reason());
            }
        }
        String err = pipeline.modelError();
        if (err != null && !err.equals(modelErrorBefore)) {
            why.add("model: " + err);
        }
        return why;
    }

    private void restore(ConfigStore.Current before, ConfigStore.Current after, List<String> why, String origin,
            String requestId) {
        try {
            ConfigStore.Current back = store.rollback(before.version(), "automatic rollback of version "
                    + after.version() + " (" + origin + ")");
            InspectionPipeline.Reconfigured r = pipeline.reconfigure(back.config());
            List<String> problems = new ArrayList<>(why);
            problems.add(0, "version " + after.version() + " made the service unhealthy within "
                    + after.config().changes().graceSeconds() + " s; version " + before.version()
                    + " is restored as version " + back.version());
            answer(requestId, "rolled-back", back.version(), problems, r, origin);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "automatic rollback of configuration version " + after.version()
                    + " failed: " + e.getMessage());
        }
    }

    /**
     * {@code config/set}: {@code {"requestId": "...", "mode": "merge"|"replace", "config": {...}}} or
     * {@code {"requestId": "...", "rollback": <version>}}; the answer goes to {@code config/state}.
     */
    private void onMqtt(String payload) {
        String requestId = null;
        try {
            JsonNode cmd = ConfigLoader.json().readTree(payload);
            requestId = cmd.path("requestId").asText(null);
            if (cmd.has("rollback")) {
                if (!cmd.get("rollback").canConvertToInt()) {
                    answer(requestId, "refused", store.current().version(), List.of("rollback: "
                            + cmd.get("rollback") + " is not a version number"), null, "mqtt");
                    return;
                }
                rollback(cmd.get("rollback").asInt(), "mqtt config/set", requestId);
                return;
            }
            String mode = cmd.path("mode").asText("merge");
            if (!mode.equals("merge") && !mode.equals("replace")) {
                answer(requestId, "refused", store.current().version(), List.of("mode: '" + mode
                        + "' must be merge or replace"), null, "mqtt");
                return;
            }
            if (!cmd.has("config")) {
                answer(requestId, "refused", store.current().version(), List.of("config: missing; send {\"config\":"
                        + " {...}} with the keys to change, or {\"rollback\": <version>}"), null, "mqtt");
                return;
            }
            apply(cmd.get("config"), mode.equals("replace") ? ConfigStore.Mode.REPLACE : ConfigStore.Mode.MERGE,
                    "mqtt config/set", requestId);
        } catch (IOException | RuntimeException e) {
            answer(requestId, "refused", store.current().version(), List.of("not a JSON command ("
                    + e.getMessage() + ")"), null, "mqtt");
        }
    }

    @Override
    public void close() {
        watch.shutdownNow();
        pipeline.configCommands(null);
    }
}
