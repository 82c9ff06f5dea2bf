package dev.vigil.app.service;

import dev.vigil.app.capture.Cameras;
import dev.vigil.app.capture.CameraStatus;
import dev.vigil.app.capture.CapturedFrame;
import dev.vigil.app.decision.Decider;
import dev.vigil.app.decision.Decision;
import dev.vigil.app.decision.Verdict;
import dev.vigil.app.inference.LoadedModel;
import dev.vigil.app.mqtt.MqttLink;
import dev.vigil.app.mqtt.VerdictPublisher;
import dev.vigil.app.mqtt.Region;
import dev.vigil.app.mqtt.StatusPayload;
import dev.vigil.app.preprocess.FramePreprocessor;
import dev.vigil.app.registry.ModelLifecycle;
import dev.vigil.app.registry.ModelRegistry;
import dev.vigil.app.registry.ShadowRun;
import dev.vigil.app.samples.FlagPolicy;
import dev.vigil.app.samples.Sample;
import dev.vigil.app.samples.SampleStore;
import dev.vigil.config.DeviceConfig;
import dev.vigil.config.Reconfigurable;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.model.DefectMap;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The inspection loop: cameras → newest frame per camera → one batch → classifier → verdict → alert, flagged sample,
 * metrics. Capture never waits for inference: each camera has a one-frame slot, a newer frame replaces an unprocessed
 * one (counted as dropped), and the inference worker takes whatever slots are full as one batch. With no model the
 * pipeline runs in collect mode and only flags frames for labelling.
 */
public final class InspectionPipeline implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(InspectionPipeline.class.getName());
    private volatile DeviceConfig config;
    private final MeterRegistry metrics;
    private final SampleStore store;
    private volatile MqttLink mqtt;
    private final MqttLink.Listener mqttListener;
    private final dev.vigil.app.registry.ModelOffers offers;
    private final FlagPolicy flags;
    private final dev.vigil.app.samples.FlaggedFrames flagged;
    private final Cameras cameras;
    private final Decider decider;
    private final VerdictPublisher publisher;
    private final dev.vigil.app.drift.DriftWatch drift;
    private final dev.vigil.app.capture.FrameTaps taps;
    /** The parts a configuration change walks over, in order: each applies its own section. */
    private final List<Reconfigurable> parts;
    private final Map<String, AtomicReference<Pending>> slots = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> dropped = new ConcurrentHashMap<>();
    private final Map<Verdict, AtomicLong> verdicts = new ConcurrentHashMap<>();
    private final Semaphore pending = new Semaphore(0);
    private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(1, r -> {
        Thread t = new Thread(r, "vigil-housekeeping");
        t.setDaemon(true);
        return t;
    });
    private final Instant started = Instant.now();
    private java.util.concurrent.ScheduledFuture<?> statusTask;
    private final ModelRegistry registry;
    private final ModelLifecycle models;
    private volatile Instant firstVerdict;
    private volatile boolean running;
    /** When the inspection loop last came round (it does at least every 200 ms when idle). */
    private volatile long loopBeat = System.nanoTime();
    private Thread worker;
    /** Parts, lots and the PLC handshake. */
    private final dev.vigil.app.line.Line line;

    public InspectionPipeline(DeviceConfig config, MeterRegistry metrics) {
        this.config = config;
        this.metrics = metrics;
        Path data = Path.of(config.storage().dir());
        this.store = new SampleStore(data, (long) config.storage().quotaMb() << 20, config.storage().retentionDays());
        this.registry = new ModelRegistry(data.resolve("models"));
        this.registry.trust(config.model().trustedKeys().stream()
                .map(k -> dev.vigil.core.model.PackageSignature.readPublic(Path.of(k))).toList());
        this.decider = new Decider(config, this::model);
        this.models = new ModelLifecycle(registry, () -> this.config, () -> this.mqtt, metrics,
                m -> decider.model(m, this.config));
        this.publisher = new VerdictPublisher(() -> this.mqtt, () -> this.config);
        this.drift = new dev.vigil.app.drift.DriftWatch(config, () -> this.mqtt, metrics);
        this.taps = new dev.vigil.app.capture.FrameTaps(() -> this.config.storage().jpegQuality());
        this.flagged = new dev.vigil.app.samples.FlaggedFrames(store, () -> this.config.storage().jpegQuality(),
                metrics);
        this.flags = new FlagPolicy(config.storage().auditShare(), config.storage().flagsPerHour(),
                System.nanoTime());
        flags.configure(config.storage().auditShare(), config.storage().flagsPerHour(), cameraCaps(config));
        this.mqttListener = new MqttLink.Listener() {
            @Override
            public void onTrigger(String camera) {
                trigger(camera, "mqtt");
            }

            @Override
            public void onLotSet(String payload) {
                dev.vigil.app.line.LotCommand.fromMqtt(line.lots(), InspectionPipeline.this.config.cameras().stream()
                        .map(DeviceConfig.Camera::id).toList(), payload);
            }

            @Override
            public void onModelCommand(String payload) {
                models.command(payload);
            }

            @Override
            public void onModelOffer(String payload) {
                offers.offer(payload);
            }

            @Override
            public void onConfigSet(String payload) {
                java.util.function.Consumer<String> h = configCommands;
                if (h != null) {
                    h.accept(payload);
                } else {
                    LOG.log(System.Logger.Level.WARNING, "config/set: this service was started without a"
                            + " configuration file (--config), so its configuration cannot be changed remotely");
                }
            }
        };
        this.offers = new dev.vigil.app.registry.ModelOffers(registry, data.resolve("offers"), this::offerAnswered);
        this.mqtt = new MqttLink(config, data.resolve("mqtt"), mqttListener);
        for (Verdict v : Verdict.values()) {
            verdicts.put(v, new AtomicLong());
        }
        config.cameras().forEach(c -> addSlot(c.id()));
        this.cameras = new Cameras(config.cameras(), this::offer, metrics);
        this.line = new dev.vigil.app.line.Line(() -> this.config, cameras::trigger, () -> {
            LoadedModel lm = models.model();
            return lm == null ? List.of() : lm.labels();
        }, metrics);
        metrics.gauge("vigil.alerts.queue", this, p -> p.mqtt.alertQueueDepth());
        io.micrometer.core.instrument.FunctionCounter.builder("vigil.alerts.overflow", this,
                p -> p.mqtt.alertOverflow()).description("alerts beyond mqtt.queueQuota").register(metrics);
        io.micrometer.core.instrument.Gauge.builder("vigil.build.info", () -> 1)
                .tag("version", dev.vigil.core.VigilVersion.VALUE).description("the running build").register(metrics);
        this.parts = List.of(this::restartOnly, this::reconfigureCapture, decider, this::reconfigureStorage,
                this::reconfigureMqtt, models, drift);
    }

    public void offerAnswered(dev.vigil.app.mqtt.ModelOfferPayload a) {
        mqtt.publishModelOfferState(a);
        if (a.result().equals("accepted")) {
            models.publishModelState();
        }
    }

    /** Model offers (URL + SHA-256) entered as candidates: {@code model/offer} and {@code POST /api/models/offer}. */
    public dev.vigil.app.registry.ModelOffers offers() {
        return offers;
    }

    /** The camera's one-frame slot and its dropped-frames count. */
    private void addSlot(String camera) {
        slots.putIfAbsent(camera, new AtomicReference<>());
        if (!dropped.containsKey(camera)) {
            AtomicLong d = dropped.computeIfAbsent(camera, id -> new AtomicLong());
            io.micrometer.core.instrument.FunctionCounter.builder("vigil.frames.dropped", d, AtomicLong::doubleValue)
                    .tag("camera", camera).description("frames replaced by a newer one before inference")
                    .register(metrics);
        }
    }

    private static Map<String, Integer> cameraCaps(DeviceConfig c) {
        Map<String, Integer> caps = new LinkedHashMap<>();
        c.cameras().forEach(cam -> caps.put(cam.id(), cam.flagsPerHour()));
        return caps;
    }

    private volatile java.util.function.Consumer<String> configCommands;

    /** Who answers {@code vigil/<device>/config/set} (the configuration changes service); null = nobody. */
    public void configCommands(java.util.function.Consumer<String> handler) {
        this.configCommands = handler;
    }

    public void start() {
        running = true;
        models.start(scheduler);
        mqtt.start();
        worker = new Thread(this::work, "vigil-inference");
        worker.setDaemon(true);
        worker.start();
        cameras.start();
        int every = config.mqtt().statusSeconds();
        statusTask = scheduler.scheduleWithFixedDelay(this::publishStatus, 1, every, TimeUnit.SECONDS);
        scheduler.scheduleWithFixedDelay(() -> store.enforce(Instant.now()), 1, 60, TimeUnit.SECONDS);
    }

    /** What a configuration change did to the running service. */
    public record Reconfigured(List<String> hot, List<String> camerasRestarted, List<String> restartNeeded) {}

    /**
     * Applies a new, valid configuration to the running service, as far as it can without a restart: decision rules,
     * flag rates and storage limits at once; a camera whose keys changed is restarted alone (added and removed cameras
     * too); a changed MQTT section reconnects the link (same alert journal); a changed model folder or inference
     * device reloads the model; training settings apply to the next run. The device id, web server and storage folder
     * are reported as needing a restart.
     */
    public synchronized Reconfigured reconfigure(DeviceConfig next) {
        DeviceConfig old = config;
        config = next;
        Reconfigurable.Report report = new Reconfigurable.Report();
        for (Reconfigurable part : parts) {
            part.reconfigure(old, next, report);
        }
        LOG.log(System.Logger.Level.INFO, "configuration applied: hot {0}, cameras restarted {1}, at the next start"
                + " {2}", report.hot(), report.restarted(), report.restartNeeded());
        return new Reconfigured(report.hot(), report.restarted(), report.restartNeeded());
    }

    /** Keys only a restart applies: the device's identity, the web server, the data folder. */
    private void restartOnly(DeviceConfig old, DeviceConfig next, Reconfigurable.Report report) {
        if (!old.device().equals(next.device())) {
            report.restartNeeded("device.id");
        }
        if (!old.web().port().equals(next.web().port()) || !old.web().host().equals(next.web().host())) {
            report.restartNeeded("web");
        }
        if (!old.storage().dir().equals(next.storage().dir())) {
            report.restartNeeded("storage.dir");
        }
        if (!old.logging().equals(next.logging())) {
            report.restartNeeded("logging");
        }
        // the PLC servers, and the camera blocks they address, are set up at start; the deadlines apply at once
        if (!old.plc().modbus().equals(next.plc().modbus()) || !old.plc().opcua().equals(next.plc().opcua())
                || next.plc().enabled() && !old.cameras().stream().map(DeviceConfig.Camera::id).toList()
                        .equals(next.cameras().stream().map(DeviceConfig.Camera::id).toList())) {
            report.restartNeeded("plc");
        }
    }

    /** Capture: cameras removed, changed (restarted alone) or added, with their one-frame slots. */
    private void reconfigureCapture(DeviceConfig old, DeviceConfig next, Reconfigurable.Report report) {
        next.cameras().forEach(c -> addSlot(c.id())); // before an added camera's first frame
        Cameras.Changes changed = cameras.reconfigure(old, next);
        for (String id : changed.removed()) {
            Pending left = slots.remove(id).getAndSet(null);
            if (left != null) {
                left.frame().image().release();
            }
        }
        changed.started().forEach(decider::reset);
        changed.report().forEach(report::restarted);
    }

    /** Flagging and the sample store's limits. */
    private void reconfigureStorage(DeviceConfig old, DeviceConfig next, Reconfigurable.Report report) {
        flags.configure(next.storage().auditShare(), next.storage().flagsPerHour(), cameraCaps(next));
        store.limits((long) next.storage().quotaMb() << 20, next.storage().retentionDays());
        if (!old.storage().equals(next.storage())) {
            report.hot("storage");
        }
    }

    /** A changed MQTT section reconnects the link (same alert journal). */
    private void reconfigureMqtt(DeviceConfig old, DeviceConfig next, Reconfigurable.Report report) {
        if (old.mqtt().equals(next.mqtt())) {
            return;
        }
        mqtt.close();
        mqtt = new MqttLink(next, Path.of(old.storage().dir()).resolve("mqtt"), mqttListener);
        if (running) {
            mqtt.start();
        }
        if (statusTask != null && !old.mqtt().statusSeconds().equals(next.mqtt().statusSeconds())) {
            statusTask.cancel(false);
            statusTask = scheduler.scheduleWithFixedDelay(this::publishStatus, 1, next.mqtt().statusSeconds(),
                    TimeUnit.SECONDS);
        }
        models.publishModelState();
        report.hot("mqtt (reconnected)");
    }

    /**
     * A frame waiting for the inference worker, already preprocessed for the model in service when it was captured
     * (null tensor in collect mode): resizing and normalising run on the camera's thread, overlapping inference.
     */
    private record Pending(CapturedFrame frame, Preprocessing pre, float[] tensor, long preprocessNanos) {}

    /** Capture side (the camera's thread): preprocess, then keep only the newest frame per camera. */
    private void offer(CapturedFrame f) {
        LoadedModel m = models.model();
        Pending ready;
        if (m == null) {
            ready = new Pending(f, null, null, 0);
        } else {
            long t0 = System.nanoTime();
            Preprocessing pre = m.preprocessing();
            float[] tensor = FramePreprocessor.tensor(f.image(), pre);
            ready = new Pending(f, pre, tensor, System.nanoTime() - t0);
        }
        AtomicReference<Pending> slot = slots.get(f.cameraId());
        if (slot == null) { // a frame of a camera removed by a configuration change meanwhile
            f.image().release();
            return;
        }
        Pending old = slot.getAndSet(ready);
        if (old != null) {
            old.frame().image().release();
            dropped.get(f.cameraId()).incrementAndGet();
        } else {
            pending.release();
        }
    }

    private void work() {
        while (running) {
            loopBeat = System.nanoTime();
            try {
                if (!pending.tryAcquire(200, TimeUnit.MILLISECONDS)) {
                    continue;
                }
                pending.drainPermits();
                List<Pending> batch = new ArrayList<>();
                for (AtomicReference<Pending> s : slots.values()) {
                    Pending f = s.getAndSet(null);
                    if (f != null) {
                        batch.add(f);
                    }
                }
                if (!batch.isEmpty()) {
                    process(batch);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "inference worker: " + e.getMessage(), e);
            }
        }
    }

    /**
     * Saves the next {@code frames} frames {@code camera} captures into {@code dir}, waiting at most {@code timeout};
     * returns how many were saved (an adaptation collects its frames so).
     */
    public int collectFrames(String camera, int frames, Path dir, java.time.Duration timeout)
            throws InterruptedException, java.io.IOException {
        if (config.camera(camera).isEmpty()) {
            throw new dev.vigil.core.VigilException("no camera '" + camera + "'; cameras: "
                    + config.cameras().stream().map(DeviceConfig.Camera::id).toList());
        }
        return taps.collect(camera, frames, dir, timeout);
    }

    private void process(List<Pending> pending) {
        List<CapturedFrame> batch = pending.stream().map(Pending::frame).toList();
        try {
            batch.forEach(taps::offer);
            synchronized (models.lock()) {
                LoadedModel m = models.model();
                if (m == null) {
                    for (CapturedFrame f : batch) {
                        count(f.cameraId(), Verdict.UNCLASSIFIED);
                        String reason = flags.reason(f.cameraId(), Verdict.UNCLASSIFIED, f.capturedAt());
                        Sample s = reason == null ? null : flagged.flag(f, reason, null, null, null);
                        line.parts().judged(f.trigger(), null, null, null, stored(s));
                    }
                    return;
                }
                Preprocessing pre = m.preprocessing();
                long t0 = System.nanoTime();
                float[] input = new float[batch.size() * pre.valuesPerImage()];
                long[] preNanos = new long[batch.size()];
                for (int i = 0; i < batch.size(); i++) {
                    Pending p = pending.get(i);
                    if (p.tensor() != null && pre.equals(p.pre())) {
                        System.arraycopy(p.tensor(), 0, input, i * pre.valuesPerImage(), p.tensor().length);
                        preNanos[i] = p.preprocessNanos();
                    } else {
                        // captured before this model came into service: preprocess for it here
                        long p0 = System.nanoTime();
                        FramePreprocessor.into(batch.get(i).image(), pre, input, i * pre.valuesPerImage());
                        preNanos[i] = System.nanoTime() - p0;
                    }
                }
                long t1 = System.nanoTime();
                LoadedModel.Inference inferred = m.infer(input, batch.size());
                float[][] probs = inferred.probabilities();
                long t2 = System.nanoTime();
                Verdict[] raw = new Verdict[batch.size()];
                for (int i = 0; i < batch.size(); i++) {
                    CapturedFrame f = batch.get(i);
                    long d0 = System.nanoTime();
                    Decider.Judged judged = decider.judge(f.cameraId(), probs[i]);
                    if (judged == null) {
                        raw[i] = Verdict.UNCLASSIFIED; // its camera was removed by a configuration change
                        continue;
                    }
                    raw[i] = judged.raw();
                    Decision d = judged.decision();
                    Verdict v = d.verdict();
                    String camera = f.cameraId();
                    timer("capture", camera).record(f.captureNanos(), TimeUnit.NANOSECONDS);
                    timer("preprocess", camera).record(preNanos[i], TimeUnit.NANOSECONDS);
                    timer("inference", camera).record((t2 - t1) / batch.size(), TimeUnit.NANOSECONDS);
                    count(camera, v);
                    if (firstVerdict == null) {
                        firstVerdict = Instant.now();
                    }
                    DefectMap map = inferred.map(i, pre, f.image()); // null when the model has none
                    String reason = flags.reason(camera, v, f.capturedAt());
                    var attributes = inferred.attributes(i); // null unless a multi-task model
                    Sample sample = reason == null ? null : flagged.flag(f, reason, m, d, map, attributes,
                            inferred.embedding(i));
                    publisher.publish(camera, f.capturedAt(), m.id(), d, sample == null ? null : sample.id(),
                            Region.of(map), attributes);
                    line.parts().judged(f.trigger(), m.id(), d, Region.of(map), stored(sample));
                    timer("decision", camera).record(System.nanoTime() - d0, TimeUnit.NANOSECONDS);
                    drift.observe(camera, m.id(), m.modelPackage().manifest().output().drift(),
                            inferred.drift() == null ? null : inferred.drift()[i], f.capturedAt());
                    latencyHistogram(Timer.builder("vigil.frame.latency").description("capture to verdict, per frame")
                            .tag("camera", camera)).register(metrics)
                            .record(java.time.Duration.between(f.capturedAt(), Instant.now()));
                }
                models.shadowStep(batch, pre, input, raw);
            }
        } finally {
            batch.forEach(f -> f.image().release());
        }
    }

    private dev.vigil.app.line.PartTracker.Stored stored(Sample s) {
        return s == null ? dev.vigil.app.line.PartTracker.Stored.NONE
                : new dev.vigil.app.line.PartTracker.Stored(s.id(), store.imageFile(s));
    }

    private void count(String camera, Verdict v) {
        verdicts.get(v).incrementAndGet();
        Counter.builder("vigil.verdicts").tag("camera", camera).tag("verdict", v.id()).register(metrics).increment();
    }

    private Timer timer(String stage, String camera) {
        return latencyHistogram(Timer.builder("vigil.stage.latency").tag("stage", stage).tag("camera", camera))
                .register(metrics);
    }

    /**
     * Latencies are histograms (Prometheus buckets, aggregatable across a fleet: {@code histogram_quantile} over the
     * sum of many devices), not percentiles computed on the device, between 1 ms and 10 s.
     */
    static Timer.Builder latencyHistogram(Timer.Builder b) {
        return b.publishPercentileHistogram().minimumExpectedValue(java.time.Duration.ofMillis(1))
                .maximumExpectedValue(java.time.Duration.ofSeconds(10));
    }

    public ModelRegistry registry() {
        return registry;
    }

    /** The drift watch over every camera's frames. */
    public dev.vigil.app.drift.DriftWatch drift() {
        return drift;
    }

    /** Which model serves, and every way that changes. */
    public ModelLifecycle models() {
        return models;
    }

    public String swapModel(Path dir) {
        return models.swapModel(dir);
    }

    public String install(Path dir, String origin) {
        return models.install(dir, origin);
    }

    public String promote(String id) {
        return models.promote(id);
    }

    public String rollback() {
        return models.rollback();
    }

    public ShadowRun startShadow(String candidateId, int frames) {
        return models.startShadow(candidateId, frames);
    }

    public ShadowRun shadow() {
        return models.shadow();
    }

    public void stopShadow(String why) {
        models.stopShadow(why);
    }

    /** {@link #trigger(String, String)} from HTTP. */
    public boolean trigger(String camera) {
        return trigger(camera, "http");
    }

    /**
     * Inspects one part now on a triggered camera ({@code source}: mqtt or http), which gets a traceability record and
     * the deadline; on a continuous camera the trigger is ignored as before. False when there is no such camera or a
     * triggered one refused it (not connected, too many triggers waiting).
     */
    public boolean trigger(String camera, String source) {
        if (cameras.triggered(camera)) {
            return line.parts().trigger(camera, source, 0, null) >= 0;
        }
        return cameras.trigger(camera);
    }

    /** Parts, lots and the PLC stations and servers. */
    public dev.vigil.app.line.Line line() {
        return line;
    }

    /** Starts the PLC servers that are enabled (after {@link #start()}); OPC UA users sign in with these accounts. */
    public void startLine(dev.vigil.app.auth.AccountStore accounts) {
        line.start(accounts, Path.of(config.storage().dir()));
    }

    public Map<String, CameraStatus> cameraStatus() {
        return cameras.status();
    }

    public StatusPayload status() {
        List<StatusPayload.CameraState> cams = new ArrayList<>();
        cameras.status().forEach((id, s) -> {
            cams.add(new StatusPayload.CameraState(id, s.state().name().toLowerCase(java.util.Locale.ROOT),
                    s.reason(), s.fps(), s.frames(), dropped.get(id).get(), s.corruptFrames(), drift.state(id)));
        });
        Map<String, Long> counts = new LinkedHashMap<>();
        for (Verdict v : Verdict.values()) {
            counts.put(v.id(), verdicts.get(v).get());
        }
        LoadedModel m = models.model();
        return StatusPayload.of(config.device().id(), Instant.now(),
                dev.vigil.core.VigilVersion.VALUE, m == null ? "collect" : "inspect",
                m == null ? null : m.id(), cams, counts, mqtt.alertQueueDepth(), mqtt.alertOverflow(),
                java.time.Duration.between(started, Instant.now()).toSeconds());
    }

    private void publishStatus() {
        try {
            mqtt.publishStatus(status());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "status publish failed: " + e.getMessage());
        }
    }

    /**
     * Whether the inspection loop runs: started, its thread alive, and round within {@code stuckAfter} (a batch being
     * judged counts as running for that long). A camera that is down does not stop it: the loop idles.
     */
    public boolean loopAlive(java.time.Duration stuckAfter) {
        Thread w = worker;
        return running && w != null && w.isAlive() && System.nanoTime() - loopBeat < stuckAfter.toNanos();
    }

    /** The lock the inspection loop takes to judge a batch (tests hold it to stall the loop). */
    Object modelLockForTests() {
        return models.lock();
    }

    public LoadedModel model() {
        return models.model();
    }

    public String modelNote() {
        return models.modelNote();
    }

    public String modelError() {
        return models.modelError();
    }

    public MqttLink mqtt() {
        return mqtt;
    }

    public SampleStore samples() {
        return store;
    }

    public DeviceConfig config() {
        return config;
    }

    public Instant started() {
        return started;
    }

    /** When the first verdict was reached (startup time to first verdict), null before. */
    public Instant firstVerdict() {
        return firstVerdict;
    }

    @Override
    public void close() {
        running = false;
        scheduler.shutdownNow();
        cameras.close();
        if (worker != null) {
            worker.interrupt();
            try {
                // a batch in flight finishes (verdicts, samples, heatmaps) before the stores below close; on a
                // loaded two-core machine that took more than 5 s
                worker.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        slots.values().forEach(s -> {
            Pending f = s.getAndSet(null);
            if (f != null) {
                f.frame().image().release();
            }
        });
        publishStatus();
        line.close();
        offers.close();
        mqtt.close();
        models.close();
        store.close();
    }
}
