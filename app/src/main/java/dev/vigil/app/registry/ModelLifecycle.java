package dev.vigil.app.registry;

import dev.vigil.app.capture.CapturedFrame;
import dev.vigil.app.decision.DecisionPolicy;
import dev.vigil.app.decision.Verdict;
import dev.vigil.app.inference.LoadedModel;
import dev.vigil.app.mqtt.ModelStatePayload;
import dev.vigil.app.mqtt.MqttLink;
import dev.vigil.app.preprocess.FramePreprocessor;
import dev.vigil.config.DeviceConfig;
import dev.vigil.core.VigilException;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.model.ModelPackage;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The model lifecycle: which model serves, and every way that changes — a package installed from the inbox, an
 * upload or an offer ({@link #install}), a promotion, a rollback, the MQTT {@code model/set} command — plus the
 * shadow run of a candidate beside it. A model is loaded and verified before it replaces the one serving, between two
 * batches ({@link #lock()}); a package that fails is refused with the reason and the current model keeps serving.
 */
public final class ModelLifecycle implements dev.vigil.config.Reconfigurable, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ModelLifecycle.class.getName());
    private final ModelRegistry registry;
    private final Supplier<DeviceConfig> config;
    private final Supplier<MqttLink> mqtt;
    private final MeterRegistry metrics;
    private final Consumer<LoadedModel> onSwap;
    /** {@code vigil_model_info{model}}: 1 for the model in service, no series in collect mode (dashboards). */
    private final MultiGauge modelInfo;
    private final Object lock = new Object();
    private volatile LoadedModel model;
    private volatile LoadedModel previousModel;
    /** A candidate classifying live frames beside {@link #model}, recorded and not acted on; null when none. */
    private volatile ShadowRun shadow;
    private volatile String modelError;
    /** Why no model serves when that is expected (waiting for the first package): not an error. */
    private volatile String modelNote;
    private java.util.concurrent.ScheduledExecutorService scheduler;
    private ModelWatcher watcher;
    private java.util.concurrent.ScheduledFuture<?> watchTask;

    /**
     * @param config the configuration in force (the inference device, the decision rule of a shadow run)
     * @param mqtt the link in force (model state is published there)
     * @param onSwap called under {@link #lock()} with each model that comes into service
     */
    public ModelLifecycle(ModelRegistry registry, Supplier<DeviceConfig> config, Supplier<MqttLink> mqtt,
            MeterRegistry metrics, Consumer<LoadedModel> onSwap) {
        this.registry = registry;
        this.config = config;
        this.mqtt = mqtt;
        this.metrics = metrics;
        this.onSwap = onSwap;
        this.modelInfo = MultiGauge.builder("vigil.model.info").description("the model in service (1, its id in the"
                + " label model)").register(metrics);
    }

    /**
     * Puts the first model into service: a package in the {@code model.package} inbox the registry does not know yet
     * is installed; otherwise the registry's active model serves (so a rollback survives a restart); otherwise the
     * service collects samples until a package arrives. Then watches the inbox when {@code model.watch} is on.
     */
    public synchronized void start(java.util.concurrent.ScheduledExecutorService scheduler) {
        this.scheduler = scheduler;
        DeviceConfig c = config.get();
        String active = registry.pointer().active();
        Path inbox = c.model().packageDir() == null ? null : Path.of(c.model().packageDir());
        boolean delivered = inbox != null && java.nio.file.Files.isRegularFile(inbox.resolve("manifest.json"));
        if (delivered && !knownToRegistry(inbox)) {
            install(inbox, "model.package");
        } else if (active != null) {
            swapModel(registry.packageDir(active));
        } else if (inbox != null) {
            note("model.package " + inbox + " holds no model package yet; collecting samples until one is copied"
                    + " there");
            LOG.log(System.Logger.Level.INFO, modelNote);
        } else {
            LOG.log(System.Logger.Level.INFO, "no model.package configured: collect mode (flagging frames for"
                    + " labelling, at most {0} per camera and hour)", c.storage().flagsPerHour());
        }
        watch(c, 2);
    }

    private void watch(DeviceConfig c, long firstDelaySeconds) {
        if (watchTask != null) {
            watchTask.cancel(false);
            watchTask = null;
        }
        watcher = c.model().packageDir() == null ? null
                : new ModelWatcher(Path.of(c.model().packageDir()), dir -> install(dir, "watch"));
        if (watcher != null && c.model().watch() && scheduler != null) {
            watchTask = scheduler.scheduleWithFixedDelay(watcher::poll, firstDelaySeconds, 2,
                    java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /**
     * A changed {@code model} section watches the new inbox; a changed inference device reloads the active model
     * there; training settings apply to the next run.
     */
    @Override
    public synchronized void reconfigure(DeviceConfig old, DeviceConfig next, Report report) {
        if (!old.model().equals(next.model())) {
            watch(next, 0);
            report.hot("model");
        }
        if (!old.inference().equals(next.inference()) && registry.pointer().active() != null) {
            String why = swapModel(registry.packageDir(registry.pointer().active()));
            report.hot("inference" + (why == null ? "" : " (model reload failed: " + why + ")"));
        }
        if (!old.training().equals(next.training())) {
            report.hot("training (next run)");
        }
    }

    /** The lock the inspection loop holds while it judges a batch: a model is swapped only between batches. */
    public Object lock() {
        return lock;
    }

    public ModelRegistry registry() {
        return registry;
    }

    public LoadedModel model() {
        return model;
    }

    public String modelError() {
        return modelError;
    }

    public String modelNote() {
        return model == null ? modelNote : null;
    }

    private void note(String why) {
        modelNote = why;
    }

    /**
     * Loads, verifies and puts a model package into service between two batches. A package that fails is refused
     * and the current model keeps serving. Returns null on success, else the reason.
     */
    public String swapModel(Path dir) {
        LoadedModel fresh;
        try {
            fresh = load(dir);
        } catch (RuntimeException e) {
            return refused(dir, e);
        }
        putInService(fresh, dir);
        return null;
    }

    private LoadedModel load(Path dir) {
        return LoadedModel.open(dir, config.get().inference().device());
    }

    /** Makes a loaded model the one serving, between two batches; the one before is closed at the next swap. */
    private void putInService(LoadedModel fresh, Path dir) {
        LoadedModel old;
        synchronized (lock) {
            old = model;
            model = fresh;
            onSwap.accept(fresh);
            modelError = null;
        }
        if (previousModel != null) {
            previousModel.close();
        }
        previousModel = old;
        modelInfo.register(List.of(MultiGauge.Row.of(Tags.of("model", fresh.id()), 1)), true);
        LOG.log(System.Logger.Level.INFO, "model {0} in service ({1}, {2}){3}", fresh.id(), dir, fresh.device(),
                old == null ? "" : ", replacing " + old.id());
        stopShadow("the active model changed to " + fresh.id());
        publishModelState();
    }

    /**
     * Loads the package of {@code id}, then changes the registry's pointer ({@code change}: durable, the source of
     * truth), then puts the model into service: whoever sees the new model sees the new pointer too, and a pointer
     * that cannot be written leaves the old model serving.
     */
    private String change(String id, String failure, RegistryChange change) {
        Path dir;
        try {
            dir = registry.packageDir(id);
        } catch (RuntimeException ex) {
            return failure + ex.getMessage();
        }
        LoadedModel fresh;
        try {
            fresh = load(dir);
        } catch (RuntimeException e) {
            return refused(dir, e);
        }
        try {
            change.apply();
        } catch (IOException | RuntimeException ex) {
            fresh.close();
            return failure + ex.getMessage();
        }
        putInService(fresh, dir);
        return null;
    }

    @FunctionalInterface
    private interface RegistryChange {
        void apply() throws IOException;
    }

    private String refused(Path dir, Exception e) {
        modelError = "model package " + dir + " refused: " + e.getMessage();
        LoadedModel m = model;
        LOG.log(System.Logger.Level.WARNING, modelError + (m == null ? " (collect mode continues)"
                : " (model " + m.id() + " keeps serving)"));
        metrics.counter("vigil.model.refused").increment();
        return modelError;
    }

    /** True when the package in {@code dir} has an id the registry already lists. */
    private boolean knownToRegistry(Path dir) {
        try {
            String id = ModelPackage.json().readTree(dir.resolve("manifest.json").toFile()).path("id").asText(null);
            return id != null && registry.entries().stream().anyMatch(e -> e.id().equals(id));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Takes a new package into the registry (verified, copied) and puts it into service. The configured
     * {@code model.package} folder is an inbox: a package there whose id the registry does not know yet is installed
     * at start and whenever it changes; otherwise the registry's active model serves, so a rollback survives a
     * restart. Returns null on success, else the reason (the current model keeps serving).
     */
    public synchronized String install(Path dir, String origin) {
        ModelRegistry.Entry e;
        try {
            e = registry.add(dir, origin);
        } catch (IOException | RuntimeException ex) {
            return refused(dir, ex);
        }
        return promote(e.id());
    }

    /** Puts a registered model into service and makes it the active one. */
    public synchronized String promote(String id) {
        return change(id, "cannot promote " + id + ": ", () -> registry.promote(id));
    }

    /** Returns to the model that was active before, in one step. */
    public synchronized String rollback() {
        String previous = registry.pointer().previous();
        if (previous == null) {
            return "nothing to roll back to: no model was active before " + registry.pointer().active();
        }
        return change(previous, "rollback to " + previous + " failed: ", registry::rollback);
    }

    /** {@code vigil/<device>/model/set}: {@code {"action":"promote","id":"..."}} or {@code {"action":"rollback"}}. */
    public void command(String payload) {
        String reason;
        try {
            var cmd = ModelPackage.json().readTree(payload);
            String action = cmd.path("action").asText("");
            reason = switch (action) {
                case "promote" -> cmd.hasNonNull("id") ? promote(cmd.get("id").asText())
                        : "model/set promote needs an \"id\"";
                case "rollback" -> rollback();
                default -> "model/set: unknown action '" + action + "'; use promote or rollback";
            };
        } catch (IOException | RuntimeException e) {
            reason = "model/set: not a JSON command (" + e.getMessage() + "): " + payload;
        }
        if (reason != null) {
            LOG.log(System.Logger.Level.WARNING, reason);
        }
    }

    /** Publishes the registry's pointer (retained) on the link in force. */
    public void publishModelState() {
        ModelRegistry.Pointer p = registry.pointer();
        LoadedModel m = model;
        mqtt.get().publishModelState(ModelStatePayload.of(p.active() != null ? p.active() : m == null ? null : m.id(),
                p.candidate(), p.previous(), Instant.now()));
    }

    /**
     * Starts classifying live frames with a registered candidate beside the active model, for {@code frames}
     * frames (recorded, not acted on; the figures are kept in the registry as the version's {@code shadow}). A
     * shadow run already going is replaced. Throws when no model serves (nothing to compare with) or the package
     * cannot be loaded.
     */
    public ShadowRun startShadow(String candidateId, int frames) {
        LoadedModel active = model;
        if (active == null) {
            throw new VigilException("no active model to run " + candidateId + " beside");
        }
        DeviceConfig c = config.get();
        LoadedModel m = LoadedModel.open(registry.packageDir(candidateId), c.inference().device());
        ShadowRun run = new ShadowRun(m, DecisionPolicy.of(m.labels(), m.modelPackage().okIndex(),
                m.modelPackage().defectThreshold(), c.decision()), active.id(), frames);
        run.done().thenAccept(stats -> {
            try {
                registry.attach(candidateId, "shadow", stats);
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "shadow figures of " + candidateId + " not kept: "
                        + e.getMessage());
            }
        });
        ShadowRun old = shadow;
        shadow = run;
        if (old != null) {
            old.end("replaced by a shadow run of " + candidateId);
            endShadow(old);
        }
        LOG.log(System.Logger.Level.INFO, "shadow run: {0} beside {1} for {2} frames", candidateId, active.id(),
                frames);
        return run;
    }

    /** The shadow run going on or last ended; null when there has been none. */
    public ShadowRun shadow() {
        return shadow;
    }

    /** Stops the shadow run, if one is going, saying why. */
    public void stopShadow(String why) {
        ShadowRun run = shadow;
        if (run != null && !run.ended()) {
            run.end(why);
            endShadow(run);
        }
    }

    private void endShadow(ShadowRun run) {
        synchronized (lock) {
            run.closeModel();
        }
    }

    /**
     * The shadow candidate classifies the batch the active model just decided (the inspection loop calls this under
     * {@link #lock()}); its verdicts are only counted.
     */
    public void shadowStep(List<CapturedFrame> batch, Preprocessing activePre, float[] activeInput, Verdict[] raw) {
        ShadowRun run = shadow;
        if (run == null || run.ended()) {
            return; // (an ended run's model is closed under the lock, which the caller holds now)
        }
        try {
            Preprocessing pre = run.model().preprocessing();
            float[] input = pre.equals(activePre) ? activeInput
                    : FramePreprocessor.batch(batch.stream().map(CapturedFrame::image).toList(), pre);
            long t0 = System.nanoTime();
            float[][] probs = run.model().classify(input, batch.size());
            long perFrame = (System.nanoTime() - t0) / batch.size();
            for (int i = 0; i < batch.size(); i++) {
                run.record(raw[i], run.policy().decide(probs[i]).verdict(), perFrame);
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "shadow run of " + run.candidateId() + " failed: " + e.getMessage());
            run.end("failed: " + e.getMessage());
        }
        if (run.ended()) {
            endShadow(run);
        }
    }

    @Override
    public void close() {
        stopShadow("service stopped");
        synchronized (lock) {
            if (model != null) {
                model.close();
            }
            if (previousModel != null) {
                previousModel.close();
            }
        }
    }
}
