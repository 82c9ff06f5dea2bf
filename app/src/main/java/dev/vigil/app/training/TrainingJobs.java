package dev.vigil.app.training;

import dev.vigil.app.registry.ModelRegistry;
import dev.vigil.app.registry.ShadowRun;
import dev.vigil.app.samples.Sample;
import dev.vigil.app.samples.SampleStore;
import dev.vigil.config.DeviceConfig;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.eval.Evaluation;
import dev.vigil.trainer.eval.Metrics;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.anomaly.AnomalyOptions;
import dev.vigil.core.Folders;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Retraining on the device, in the background: the labelled samples become a folder-per-class dataset (hard links,
 * no copies), the trainer fine-tunes the configured backbone (its feature cache under the storage folder means only
 * new images cost a forward pass), and the result enters the model registry as a <em>candidate</em> — it is not put
 * into service here. One job runs at a time on a low-priority thread so inspection keeps its share of the CPU;
 * a job can be cancelled (at the next image or epoch).
 */
public final class TrainingJobs implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(TrainingJobs.class.getName());

    /** Where a job stands. */
    public enum State {
        QUEUED,
        RUNNING,
        DONE,
        FAILED,
        CANCELLED
    }

    /**
     * A snapshot of one job: {@code progress} is the trainer's latest progress line, {@code percent} the share done
     * of the step it is in (null when the step has no count), {@code shadow} the candidate's shadow run so far.
     */
    public record Job(String id, String requestedBy, Instant createdAt, State state, String progress, Integer percent,
            String candidateId, String error, Map<String, Integer> images, Comparison comparison,
            ShadowRun.Stats shadow) {
        Job with(State s, String line, String candidate, String err, Map<String, Integer> counts) {
            // a new line from the service itself has no percentage; the training process's come through progress()
            return new Job(id, requestedBy, createdAt, s, line != null ? line : progress, line != null ? null : percent,
                    candidate != null ? candidate : candidateId, err, counts != null ? counts : images, comparison,
                    shadow);
        }

        Job withResults(Comparison c, ShadowRun.Stats st, Integer pct) {
            return new Job(id, requestedBy, createdAt, state, progress, pct, candidateId, error, images, c, st);
        }
    }

    /** How the service takes a candidate: a shadow run beside the active model, and promotion. */
    public interface Candidates {
        /** Starts a shadow run of {@code id} for {@code frames} live frames; throws when there is nothing to shadow. */
        ShadowRun shadow(String id, int frames);

        /** Ends the shadow run going on, if any, saying why. */
        void stopShadow(String why);

        /** Puts {@code id} into service; null on success, else why not. */
        String promote(String id);
    }

    /** A shadow run that sees no frame for this long (the line stopped) ends; the evaluation decides alone. */
    static final Duration SHADOW_STALL = Duration.ofMinutes(2);

    /**
     * Candidate and active model on the same held-out evaluation images (never trained on), and what was decided:
     * promoted automatically only when the candidate is at least as good overall and in defect recall.
     */
    public record Comparison(int evaluationImages, Double candidateAccuracy, Double candidateDefectRecall,
            String activeId, Double activeAccuracy, Double activeDefectRecall, boolean promoted, String decision) {}

    /** The configuration in force, read at each job (a change applies to the next run). */
    private final java.util.function.Supplier<DeviceConfig> settings;
    private final SampleStore samples;
    private final ModelRegistry registry;
    private final Path root;
    private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "vigil-training");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        return t;
    });
    private final Map<String, Job> jobs = new LinkedHashMap<>();
    private final Map<String, Future<?>> running = new LinkedHashMap<>();
    private final AtomicInteger counter = new AtomicInteger();

    private final Candidates candidates;

    /**
     * @param candidates the service side of a new candidate; null = candidates only enter the registry
     */
    public TrainingJobs(java.util.function.Supplier<DeviceConfig> settings, SampleStore samples,
            ModelRegistry registry, Candidates candidates) {
        this.settings = settings;
        DeviceConfig config = settings.get();
        this.samples = samples;
        this.registry = registry;
        this.candidates = candidates;
        this.root = Path.of(config.storage().dir()).resolve("training");
        removeInterruptedRuns();
    }

    /** A job folder left behind means the service died during that run (power loss, kill): nothing in it counts. */
    private void removeInterruptedRuns() {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (var s = Files.list(root)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith("job-")
                    || p.getFileName().toString().startsWith("adapt-")).toList()) {
                LOG.log(System.Logger.Level.WARNING, "training: removing {0}, left by a run that was interrupted"
                        + " (the registry is unchanged by it)", p);
                Folders.deleteTree(p);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "training: cannot tidy " + root + ": " + e.getMessage());
        }
    }

    /** Queues a training run on the labelled samples; returns its id. */
    public synchronized String start(String requestedBy) {
        String id = String.format("job-%d-%d", System.currentTimeMillis(), counter.incrementAndGet());
        jobs.put(id, new Job(id, requestedBy, Instant.now(), State.QUEUED, null, null, null, null, Map.of(), null,
                null));
        running.put(id, executor.submit(() -> run(id)));
        return id;
    }

    public synchronized Optional<Job> get(String id) {
        return Optional.ofNullable(jobs.get(id));
    }

    public synchronized List<Job> list() {
        return List.copyOf(jobs.values());
    }

    /** Cancels a queued or running job; false when it is unknown or already over. */
    public synchronized boolean cancel(String id) {
        Job j = jobs.get(id);
        if (j == null || j.state() == State.DONE || j.state() == State.FAILED || j.state() == State.CANCELLED) {
            return false;
        }
        running.get(id).cancel(true);
        if (j.state() == State.QUEUED) {
            update(id, State.CANCELLED, null, null, "cancelled before it started", null);
        }
        return true;
    }

    /** A line of the training process: its progress (with the percentage it says) or its text. */
    private synchronized void progress(String id, TrainingProcess.Line line) {
        Job j = jobs.get(id);
        jobs.put(id, new Job(j.id(), j.requestedBy(), j.createdAt(), j.state(), line.text(), line.percent(),
                j.candidateId(), j.error(), j.images(), j.comparison(), j.shadow()));
    }

    private synchronized void update(String id, State state, String progress, String candidate, String error,
            Map<String, Integer> images) {
        jobs.put(id, jobs.get(id).with(state, progress, candidate, error, images));
    }

    private synchronized void compared(String id, Comparison c) {
        jobs.put(id, jobs.get(id).withResults(c, jobs.get(id).shadow(), jobs.get(id).percent()));
    }

    private synchronized void shadowed(String id, ShadowRun.Stats st) {
        jobs.put(id, jobs.get(id).withResults(jobs.get(id).comparison(), st,
                st.target() == 0 ? null : (int) (100L * st.frames() / st.target())));
    }

    /**
     * True for the samples of the evaluation set ({@code share} of them, by a hash of the id, so the set is stable
     * and only grows): never trained on, so models are compared on the same images.
     */
    public static boolean heldOut(String sampleId, double share) {
        String hex = dev.vigil.core.Hashing.sha256(sampleId.getBytes(StandardCharsets.UTF_8));
        return Long.parseLong(hex.substring(0, 8), 16) / (double) 0x1_0000_0000L < share;
    }

    private void run(String id) {
        DeviceConfig config = settings.get();
        update(id, State.RUNNING, "preparing the dataset", null, null, null);
        Path dir = root.resolve(id);
        try {
            List<Sample> labelled = samples.list(Boolean.TRUE, 100_000);
            Map<String, Integer> counts = dataset(labelled, dir.resolve("data"), config.training().evaluationShare());
            update(id, State.RUNNING, "dataset " + counts, null, null, counts);
            DeviceConfig.Training t = config.training();
            Path cache = t.modelCache() != null ? Path.of(t.modelCache())
                    : Path.of(config.storage().dir()).resolve("backbones");
            Backbone bb = backbone(t, new BackboneResolver(cache, line -> update(id, State.RUNNING, line, null, null,
                    null)), id);
            // the training itself runs in a child process: a crash or an out-of-memory there cannot take
            // inspection down, and its CPU and memory are bounded (TrainingProcess)
            // samples labelled per head (a multi-task model judged them): one head per column, the verdict first
            Path table = labelTable(labelled, dir, config.training().evaluationShare());
            List<String> input = table == null ? List.of("--data", dir.resolve("data").toString())
                    : List.of("--labels", table.toString(), "--verdict-head", VERDICT_HEAD);
            List<String> args = new java.util.ArrayList<>(input);
            args.addAll(List.of("--backbone", bb.file().toString(), "--out", dir.resolve("model").toString(), "--epochs",
                    Integer.toString(t.epochs()), "--cache", Path.of(config.storage().dir()).resolve("features")
                            .toString(), "--model-cache", cache.toString(), "--schedule", t.schedule()));
            if (!t.learningCurve()) {
                args.addAll(List.of("--learning-curve", "off"));
            }
            boolean progressive = !t.schedule().equals("constant");
            if (!progressive || t.unfreeze() > 0) {
                // progressive: training.unfreeze caps the blocks it adds; 0 leaves it to go through every block
                args.addAll(List.of("--unfreeze", Integer.toString(t.unfreeze())));
            }
            int threads = t.threadsOrDefault();
            TrainingProcess child = new TrainingProcess(args, threads, t.maxMemoryMb());
            update(id, State.RUNNING, "training in a process of its own (" + threads + " thread" + (threads == 1 ? ""
                    : "s") + ", at most " + t.maxMemoryMb() + " MiB) on " + counts, null, null, null);
            child.run(threads, line -> progress(id, line));
            takeCandidate(id, dir, config, "training " + id + " by " + jobs.get(id).requestedBy());
        } catch (RuntimeException | IOException | InterruptedException e) {
            ended(id, "training", e);
        } finally {
            try {
                Folders.deleteTree(dir); // the package is in the registry now; the links and scratch files are not needed
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "training: cannot remove " + dir + ": " + e.getMessage());
            }
        }
    }

    /**
     * The package a child process wrote to {@code dir/model} becomes a candidate: signed with the device's key, into
     * the registry, compared with the active model on the evaluation set, shadowed on live frames, and promoted only
     * when the gate allows.
     */
    private void takeCandidate(String id, Path dir, DeviceConfig config, String origin)
            throws IOException, InterruptedException {
        try (PrintStream log = new PrintStream(new LineSink(line -> update(id, State.RUNNING, line, null, null,
                null)), true, StandardCharsets.UTF_8)) {
            ModelPackage pkg = ModelPackage.open(dir.resolve("model"));
            // signed with the device's own key: it enters a registry that requires signatures like any package
            dev.vigil.core.model.PackageSignature.sign(pkg.dir(), registry.deviceKeyFile());
            ModelRegistry.Entry e = registry.add(pkg.dir(), origin);
            update(id, State.RUNNING, "candidate " + e.id() + " is in the registry; comparing", e.id(), null, null);
            Comparison c = compare(pkg, dir.resolve("evaluation"), log, config.training().autoPromote());
            compared(id, c);
            registry.attach(e.id(), "evaluation", c);
            if (c.activeId() != null) {
                shadowRun(id, e.id(), config.training().shadowFrames());
            }
            if (c.promoted() && candidates != null) {
                update(id, State.RUNNING, "promoting " + e.id(), null, null, null);
                String reason = candidates.promote(e.id());
                if (reason != null) {
                    c = new Comparison(c.evaluationImages(), c.candidateAccuracy(), c.candidateDefectRecall(),
                            c.activeId(), c.activeAccuracy(), c.activeDefectRecall(), false,
                            "promotion failed: " + reason);
                    compared(id, c);
                    registry.attach(e.id(), "evaluation", c);
                }
            }
            update(id, State.DONE, c.decision(), e.id(), null, null);
            LOG.log(System.Logger.Level.INFO, "{0}: candidate {1}: {2}", id, e.id(), c.decision());
        }
    }

    /** A job that threw: cancelled (interrupted, or the child said so) or failed, with the reason. */
    private void ended(String id, String what, Exception e) {
        boolean cancelled = e instanceof InterruptedException || Thread.currentThread().isInterrupted()
                || String.valueOf(e.getMessage()).contains("cancelled");
        update(id, cancelled ? State.CANCELLED : State.FAILED, null, null, e.getMessage(), null);
        LOG.log(System.Logger.Level.WARNING, "{0} {1} {2}: {3}", what, id, cancelled ? "cancelled" : "failed",
                e.getMessage());
    }

    /** Saves the next frames of a camera into a folder (the service's inspection loop does it). */
    @FunctionalInterface
    public interface FrameCollector {
        /**
         * Writes the next {@code frames} frames {@code camera} captures into {@code dir} as images, waiting at most
         * {@code timeout}; returns how many were saved.
         */
        int collect(String camera, int frames, Path dir, Duration timeout) throws InterruptedException, IOException;
    }

    /** How long an adaptation waits for its camera's frames. */
    static final Duration COLLECT_TIMEOUT = Duration.ofMinutes(10);

    /**
     * Queues an adaptation of the active model to what {@code camera} sees now: its next {@code frames} frames are
     * collected, {@code vigil adapt} runs on them in a process of its own (reference: good parts, as a line makes),
     * and the result is a candidate like a training run's (evaluation, shadow, gated promotion). Returns the job id.
     */
    public synchronized String startAdapt(String requestedBy, String camera, int frames, FrameCollector collector) {
        if (registry.pointer().active() == null) {
            throw new dev.vigil.core.VigilException("no active model to adapt: train or install one first");
        }
        if (frames < 10 || frames > 5000) {
            throw new dev.vigil.core.VigilException("frames must be between 10 and 5000 (50 or more give steadier"
                    + " statistics), found " + frames);
        }
        String id = String.format("adapt-%d-%d", System.currentTimeMillis(), counter.incrementAndGet());
        jobs.put(id, new Job(id, requestedBy, Instant.now(), State.QUEUED, null, null, null, null, Map.of(), null,
                null));
        running.put(id, executor.submit(() -> adapt(id, camera, frames, collector)));
        return id;
    }

    private void adapt(String id, String camera, int frames, FrameCollector collector) {
        DeviceConfig config = settings.get();
        Path dir = root.resolve(id);
        try {
            String active = registry.pointer().active();
            if (active == null) {
                throw new dev.vigil.core.VigilException("no active model to adapt any more");
            }
            update(id, State.RUNNING, "collecting " + frames + " frames of camera " + camera, null, null, null);
            int got = collector.collect(camera, frames, dir.resolve("frames"), COLLECT_TIMEOUT);
            if (got < 10) {
                throw new dev.vigil.core.VigilException("camera " + camera + " gave " + got + " frames in "
                        + COLLECT_TIMEOUT.toMinutes() + " minutes; adapting needs at least 10 (is it up, or"
                        + " triggered and not being triggered?)");
            }
            try {
                // only its evaluation share is wanted: the gate compares candidate and active model on it
                dataset(samples.list(Boolean.TRUE, 100_000), dir.resolve("data"),
                        config.training().evaluationShare());
            } catch (dev.vigil.core.VigilException fewLabels) {
                LOG.log(System.Logger.Level.INFO, "adaptation {0}: {1}", id, fewLabels.getMessage());
            }
            Folders.deleteTree(dir.resolve("data"));
            DeviceConfig.Training t = config.training();
            List<String> args = List.of("--model", registry.packageDir(active).toString(), "--data",
                    dir.resolve("frames").toString(), "--out", dir.resolve("model").toString(), "--reference", "good");
            int threads = t.threadsOrDefault();
            update(id, State.RUNNING, "adapting " + active + " to " + got + " frames of camera " + camera, null,
                    null, Map.of("frames", got));
            TrainingProcess.of("adapt", args, threads, t.maxMemoryMb()).run(threads, line -> progress(id, line));
            takeCandidate(id, dir, config, "adaptation " + id + " of " + active + " to camera " + camera + " by "
                    + jobs.get(id).requestedBy());
        } catch (RuntimeException | IOException | InterruptedException e) {
            ended(id, "adaptation", e);
        } finally {
            try {
                Folders.deleteTree(dir);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "adaptation: cannot remove " + dir + ": " + e.getMessage());
            }
        }
    }

    /**
     * The backbone to train from: the very file the active model was trained from, when the registry kept it and
     * {@code training.backbone} names that backbone (so an offline device retrains without a download); otherwise
     * {@code training.backbone} as configured (a catalog name from the model cache, or a file).
     */
    private Backbone backbone(DeviceConfig.Training t, BackboneResolver resolver, String job) {
        String active = registry.pointer().active();
        if (active != null) {
            try {
                var ref = ModelPackage.open(registry.packageDir(active)).manifest().backbone();
                var kept = ref == null ? java.util.Optional.<Path>empty() : registry.backboneFile(ref.sha256());
                boolean same = ref != null && (t.backbone().equals(ref.name())
                        || t.backbone().endsWith(".onnx") && Files.isRegularFile(Path.of(t.backbone()))
                                && dev.vigil.core.Hashing.sha256(Path.of(t.backbone())).equals(ref.sha256()));
                if (kept.isPresent() && same) {
                    update(job, State.RUNNING, "backbone " + ref.name() + ": the registry's copy of the one "
                            + active + " was trained from", null, null, null);
                    return resolver.resolve(kept.get().toString());
                }
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.INFO, "training: the active model's backbone is not usable ({0}); using"
                        + " training.backbone {1}", e.getMessage(), t.backbone());
            }
        }
        return resolver.resolve(t.backbone());
    }

    /**
     * The candidate classifies {@code training.shadowFrames} live frames beside the active model, its figures
     * recorded, before any automatic promotion. A line that stops (no frame for {@link #SHADOW_STALL}) ends the run
     * early; cancelling the job stops it (the candidate stays, waiting for an admin).
     */
    private void shadowRun(String job, String candidate, int frames) throws InterruptedException {
        if (frames == 0 || candidates == null) {
            return;
        }
        ShadowRun run;
        try {
            run = candidates.shadow(candidate, frames);
        } catch (RuntimeException e) {
            update(job, State.RUNNING, "no shadow run: " + e.getMessage(), null, null, null);
            return;
        }
        update(job, State.RUNNING, "shadow run: " + candidate + " beside the active model on live frames", null,
                null, null);
        int seen = -1;
        long lastChange = System.nanoTime();
        try {
            while (!run.ended()) {
                try {
                    run.done().get(500, TimeUnit.MILLISECONDS);
                } catch (TimeoutException | java.util.concurrent.ExecutionException ignored) {
                    // not yet
                }
                ShadowRun.Stats st = run.stats();
                shadowed(job, st);
                if (st.frames() != seen) {
                    seen = st.frames();
                    lastChange = System.nanoTime();
                } else if (System.nanoTime() - lastChange > SHADOW_STALL.toNanos()) {
                    candidates.stopShadow("no frames for " + SHADOW_STALL.toSeconds() + " s after " + seen
                            + " frames");
                }
            }
        } catch (InterruptedException e) {
            candidates.stopShadow("the training job was cancelled");
            shadowed(job, run.stats());
            throw e;
        }
        shadowed(job, run.stats());
    }

    /** Evaluates the candidate, and the active model if there is one, on the evaluation set; decides promotion. */
    private Comparison compare(ModelPackage candidate, Path evalDir, PrintStream log, boolean auto) {
        if (!Files.isDirectory(evalDir)) {
            return new Comparison(0, null, null, registry.pointer().active(), null, null, false,
                    "no evaluation images yet: the candidate waits for an admin");
        }
        ImageDataset eval = ImageDataset.scan(evalDir, 1);
        Metrics cm = Evaluation.run(candidate, eval, log).metrics();
        String activeId = registry.pointer().active();
        if (activeId == null) {
            return new Comparison(cm.count(), cm.accuracy(), nan(cm.defectRecall()), null, null, null, auto,
                    "no active model: the candidate " + (auto ? "is promoted"
                            : "waits for an admin (training.autoPromote is off)"));
        }
        Metrics am;
        try {
            am = Evaluation.run(ModelPackage.open(registry.packageDir(activeId)), eval, log).metrics();
        } catch (RuntimeException e) {
            return new Comparison(cm.count(), cm.accuracy(), nan(cm.defectRecall()), activeId, null, null, false,
                    "the active model cannot be evaluated on these classes (" + e.getMessage()
                            + "): the candidate waits for an admin");
        }
        boolean better = cm.accuracy() >= am.accuracy() && (Double.isNaN(am.defectRecall())
                || cm.defectRecall() >= am.defectRecall());
        return new Comparison(cm.count(), cm.accuracy(), nan(cm.defectRecall()), activeId, am.accuracy(),
                nan(am.defectRecall()), better && auto, !better ? "worse than " + activeId + " on " + cm.count()
                        + " evaluation images: waits for an admin" : "at least as good as " + activeId + " on "
                        + cm.count() + " evaluation images: " + (auto ? "promoted"
                                : "waits for an admin (training.autoPromote is off)"));
    }

    private static Double nan(double v) {
        return Double.isNaN(v) ? null : v;
    }

    /** The verdict's column in the label table the service writes for a multi-task model. */
    static final String VERDICT_HEAD = "verdict";

    /**
     * When any training sample has a class set for one of a multi-task model's other heads: {@code dir/labels.csv}
     * (docs/multitask.md) with the images {@link #dataset} linked, the verdict (the sample's label) and one column per
     * other head (empty where the operator did not set it); null otherwise (a single classifier from the folders).
     */
    private Path labelTable(List<Sample> labelled, Path dir, double share) throws IOException {
        List<Sample> training = labelled.stream().filter(s -> !heldOut(s.id(), share)).toList();
        java.util.TreeSet<String> heads = new java.util.TreeSet<>();
        training.forEach(s -> heads.addAll(s.assignedAttributes().keySet()));
        heads.remove(VERDICT_HEAD);
        if (heads.isEmpty()) {
            return null;
        }
        StringBuilder csv = new StringBuilder("file," + VERDICT_HEAD);
        heads.forEach(h -> csv.append(',').append(h));
        csv.append('\n');
        for (Sample s : training) {
            csv.append("data/").append(s.assignedLabel()).append('/').append(s.id()).append(".jpg,")
                    .append(csvCell(s.assignedLabel()));
            for (String h : heads) {
                String v = s.assignedAttributes().get(h);
                csv.append(',').append(v == null ? "" : csvCell(v));
            }
            csv.append('\n');
        }
        Path file = dir.resolve("labels.csv");
        dev.vigil.core.AtomicFiles.write(file, csv.toString().getBytes(StandardCharsets.UTF_8));
        return file;
    }

    private static String csvCell(String v) {
        return v.contains(",") || v.contains("\"") ? "\"" + v.replace("\"", "\"\"") + "\"" : v;
    }

    /**
     * Links every labelled sample into {@code data/<label>/}, or {@code evaluation/<label>/} for the held-out share;
     * returns the training images per class.
     */
    private Map<String, Integer> dataset(List<Sample> labelled, Path data, double share) throws IOException {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (Sample s : labelled) {
            boolean eval = heldOut(s.id(), share);
            Path to = (eval ? data.resolveSibling("evaluation") : data).resolve(s.assignedLabel())
                    .resolve(s.id() + ".jpg");
            Files.createDirectories(to.getParent());
            Path from = samples.imageFile(s);
            try {
                Files.createLink(to, from);
            } catch (IOException | UnsupportedOperationException e) {
                Files.copy(from, to);
            }
            if (!eval) {
                counts.merge(s.assignedLabel(), 1, Integer::sum);
            }
        }
        boolean goodAlone = counts.size() == 1 && ImageDataset.isOkName(counts.keySet().iterator().next());
        if (counts.size() < 2 && !goodAlone) {
            throw new dev.vigil.core.VigilException("training needs labelled samples of at least two classes,"
                    + " or good samples alone (labelled ok) for a model from good parts; labelled so far: "
                    + (counts.isEmpty() ? "nothing" : counts));
        }
        if (goodAlone && counts.values().iterator().next() < AnomalyOptions.MIN_GOOD_IMAGES) {
            throw new dev.vigil.core.VigilException("a model from good parts alone needs at least "
                    + AnomalyOptions.MIN_GOOD_IMAGES + " good samples for training (a share more is held out for"
                    + " evaluation); labelled so far: " + counts + ". Label more good frames, or some defects");
        }
        return counts;
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            // a cancelled run stops at its next epoch or image and tidies its folder: wait for that
            executor.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Turns what the trainer prints (progress lines ending in CR or LF) into callbacks, one per line. */
    private static final class LineSink extends OutputStream {
        private final java.util.function.Consumer<String> onLine;
        private final StringBuilder line = new StringBuilder();

        LineSink(java.util.function.Consumer<String> onLine) {
            this.onLine = onLine;
        }

        @Override
        public void write(int b) {
            if (b == '\n' || b == '\r') {
                if (line.length() > 0) {
                    onLine.accept(line.toString().trim());
                    line.setLength(0);
                }
            } else {
                line.append((char) b);
            }
        }
    }
}
