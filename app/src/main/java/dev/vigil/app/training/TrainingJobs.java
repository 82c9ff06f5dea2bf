package dev.vigil.app.training;

import dev.vigil.app.registry.ModelRegistry;
import dev.vigil.app.samples.Sample;
import dev.vigil.app.samples.SampleStore;
import dev.vigil.config.DeviceConfig;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.eval.Evaluation;
import dev.vigil.trainer.eval.Metrics;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.trainer.model.ModelPackage;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TransferTrainer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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

    /** A snapshot of one job: {@code progress} is the trainer's latest progress line. */
    public record Job(String id, String requestedBy, Instant createdAt, State state, String progress,
            String candidateId, String error, Map<String, Integer> images, Comparison comparison) {}

    /**
     * Candidate and active model on the same held-out evaluation images (never trained on), and what was decided:
     * promoted automatically only when the candidate is at least as good overall and in defect recall.
     */
    public record Comparison(int evaluationImages, Double candidateAccuracy, Double candidateDefectRecall,
            String activeId, Double activeAccuracy, Double activeDefectRecall, boolean promoted, String decision) {}

    /** Share of labelled samples held out as the evaluation set, chosen by a hash of the sample id (stable). */
    public static final double EVALUATION_SHARE = 0.2;

    private final DeviceConfig config;
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

    public TrainingJobs(DeviceConfig config, SampleStore samples, ModelRegistry registry) {
        this.config = config;
        this.samples = samples;
        this.registry = registry;
        this.root = Path.of(config.storage().dir()).resolve("training");
    }

    /** Queues a training run on the labelled samples; returns its id. */
    public synchronized String start(String requestedBy) {
        String id = String.format("job-%d-%d", System.currentTimeMillis(), counter.incrementAndGet());
        jobs.put(id, new Job(id, requestedBy, Instant.now(), State.QUEUED, null, null, null, Map.of(), null));
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

    private synchronized void update(String id, State state, String progress, String candidate, String error,
            Map<String, Integer> images) {
        Job j = jobs.get(id);
        jobs.put(id, new Job(id, j.requestedBy(), j.createdAt(), state, progress != null ? progress : j.progress(),
                candidate != null ? candidate : j.candidateId(), error, images != null ? images : j.images(),
                j.comparison()));
    }

    private synchronized void compared(String id, Comparison c) {
        Job j = jobs.get(id);
        jobs.put(id, new Job(id, j.requestedBy(), j.createdAt(), j.state(), j.progress(), j.candidateId(), j.error(),
                j.images(), c));
    }

    /** True for the samples of the evaluation set: never trained on, so models are compared on the same images. */
    public static boolean heldOut(String sampleId) {
        String hex = dev.vigil.trainer.util.Hashing.sha256(sampleId.getBytes(StandardCharsets.UTF_8));
        return Long.parseLong(hex.substring(0, 8), 16) / (double) 0x1_0000_0000L < EVALUATION_SHARE;
    }

    private void run(String id) {
        update(id, State.RUNNING, "preparing the dataset", null, null, null);
        Path dir = root.resolve(id);
        try {
            Map<String, Integer> counts = dataset(dir.resolve("data"));
            update(id, State.RUNNING, "dataset " + counts, null, null, counts);
            DeviceConfig.Training t = config.training();
            Path cache = t.modelCache() != null ? Path.of(t.modelCache())
                    : Path.of(config.storage().dir()).resolve("backbones");
            Backbone bb = new BackboneResolver(cache, line -> update(id, State.RUNNING, line, null, null, null))
                    .resolve(t.backbone());
            TrainOptions o = TrainOptions.defaults().withUnfreeze(t.unfreeze()).withEpochs(t.epochs());
            try (PrintStream log = new PrintStream(new LineSink(line -> update(id, State.RUNNING, line, null, null,
                    null)), true, StandardCharsets.UTF_8);
                    TransferTrainer trainer = new TransferTrainer(bb, ImageDataset.scan(dir.resolve("data"), 2), o,
                            Path.of(config.storage().dir()).resolve("features"), log)) {
                trainer.train();
                ModelPackage pkg = new ModelExporter(trainer).write(dir.resolve("model"));
                ModelRegistry.Entry e = registry.add(pkg.dir(), "training " + id + " by " + jobs.get(id).requestedBy());
                update(id, State.RUNNING, "candidate " + e.id() + " is in the registry; comparing", e.id(), null,
                        null);
                Comparison c = compare(pkg, dir.resolve("evaluation"), log);
                compared(id, c);
                if (c.promoted() && promoter != null) {
                    String reason = promoter.apply(e.id());
                    if (reason != null) {
                        c = new Comparison(c.evaluationImages(), c.candidateAccuracy(), c.candidateDefectRecall(),
                                c.activeId(), c.activeAccuracy(), c.activeDefectRecall(), false,
                                "promotion failed: " + reason);
                        compared(id, c);
                    }
                }
                update(id, State.DONE, c.decision(), e.id(), null, null);
                LOG.log(System.Logger.Level.INFO, "training {0}: candidate {1}: {2}", id, e.id(), c.decision());
            }
        } catch (RuntimeException | IOException e) {
            boolean cancelled = Thread.currentThread().isInterrupted() || String.valueOf(e.getMessage())
                    .contains("cancelled");
            update(id, cancelled ? State.CANCELLED : State.FAILED, null, null, e.getMessage(), null);
            LOG.log(System.Logger.Level.WARNING, "training {0} {1}: {2}", id, cancelled ? "cancelled" : "failed",
                    e.getMessage());
        }
    }

    /** Evaluates the candidate, and the active model if there is one, on the evaluation set; decides promotion. */
    private Comparison compare(ModelPackage candidate, Path evalDir, PrintStream log) {
        if (!Files.isDirectory(evalDir)) {
            return new Comparison(0, null, null, registry.pointer().active(), null, null, false,
                    "no evaluation images yet: the candidate waits for an admin");
        }
        ImageDataset eval = ImageDataset.scan(evalDir, 1);
        Metrics cm = Evaluation.run(candidate, eval, log).metrics();
        String activeId = registry.pointer().active();
        if (activeId == null) {
            return new Comparison(cm.count(), cm.accuracy(), nan(cm.defectRecall()), null, null, null, true,
                    "no active model: the candidate is promoted");
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
                nan(am.defectRecall()), better, better ? "at least as good as " + activeId + " on " + cm.count()
                        + " evaluation images: promoted" : "worse than " + activeId + " on " + cm.count()
                        + " evaluation images: waits for an admin");
    }

    private static Double nan(double v) {
        return Double.isNaN(v) ? null : v;
    }

    private java.util.function.Function<String, String> promoter;

    /** How a candidate that passed the comparison is put into service (the pipeline's promote); null = never. */
    public void promoter(java.util.function.Function<String, String> p) {
        this.promoter = p;
    }

    /**
     * Links every labelled sample into {@code data/<label>/}, or {@code evaluation/<label>/} for the held-out share;
     * returns the training images per class.
     */
    private Map<String, Integer> dataset(Path data) throws IOException {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (Sample s : samples.list(Boolean.TRUE, 100_000)) {
            boolean eval = heldOut(s.id());
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
        if (counts.size() < 2) {
            throw new dev.vigil.trainer.VigilException("training needs labelled samples of at least two classes;"
                    + " labelled so far: " + counts);
        }
        return counts;
    }

    @Override
    public void close() {
        executor.shutdownNow();
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
