package dev.vigil.trainer.anomaly;

import dev.vigil.core.model.Manifest;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.core.VigilException;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.core.image.ImageIo;
import dev.vigil.trainer.data.LabelledImage;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.eval.Auroc;
import dev.vigil.trainer.eval.GroupKFold;
import dev.vigil.trainer.eval.Grouping;
import dev.vigil.trainer.features.FeatureExtractor;
import dev.vigil.trainer.features.PatchFeatures;
import dev.vigil.trainer.onnx.GraphAnatomy;
import dev.vigil.trainer.onnx.OnnxGraph;
import dev.vigil.trainer.train.InputGeometry;
import dev.vigil.trainer.train.TransferTrainer;
import dev.vigil.core.Hashing;
import dev.vigil.trainer.util.Progress;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * A model from good parts alone (PatchCore: Roth et al., "Towards total recall in industrial anomaly detection",
 * CVPR 2022). Every image becomes a grid of patch vectors — mid-level taps of the frozen backbone on one grid
 * ({@link PatchFeatures}), each averaged over its 3x3 neighbourhood — and the model remembers a coreset of the good
 * parts' patches. A patch's score is its distance to the nearest remembered one; an image's is its worst patch's.
 *
 * <p>Steps, each with a progress line:
 * <ol>
 *   <li>every good image once through the backbone: its patches, and from them its own k-center selection of
 *       candidates (so memory holds a few hundred vectors per image, not the whole grid);</li>
 *   <li>out-of-fold calibration: the good images are split into folds that keep one part's images together
 *       ({@code --group-by}, or near-duplicate images); each fold is scored against a memory built from the other
 *       folds' candidates alone, so every good image gets a score from a memory that never saw it;</li>
 *   <li>the threshold is the quantile of those scores that rejects {@code --target-frr} of the good parts, the scale
 *       their spread ({@link Calibration});</li>
 *   <li>the final memory: a coreset of every good image's candidates.</li>
 * </ol>
 *
 * <pre>{@code
 * AnomalyModel m = new AnomalyTrainer(backbone, ImageDataset.scan(dir, 1), AnomalyOptions.defaults(), System.err)
 *         .train();
 * new AnomalyExporter(m).write(outDir);
 * }</pre>
 */
public final class AnomalyTrainer {
    /** The candidate pool offered to a coreset is at most this many times the memory it selects. */
    static final int CANDIDATE_FACTOR = 4;
    /** Floats of output per batch the extraction and scoring sessions aim at (bounds native memory). */
    private static final long BATCH_FLOATS = 1L << 24;
    private static final int MAX_BATCH = 8;
    private static final int VERIFY_GOOD = 8;
    private static final int VERIFY_OTHER = 8;
    /** Images whose size the automatic input geometry looks at. */
    private static final int GEOMETRY_SAMPLE = 64;

    /** The backbone as given, or its tiled graph once {@link #train} has resolved the input ({@code --tiles}). */
    private Backbone backbone;
    private final ImageDataset dataset;
    private final AnomalyOptions options;
    private final PrintStream log;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    /** The network input every image is brought to; null = from {@code options.geometry()}. */
    private final Preprocessing input;

    public AnomalyTrainer(Backbone backbone, ImageDataset dataset, AnomalyOptions options, PrintStream log) {
        this(backbone, dataset, options, null, log);
    }

    /**
     * @param input the network input to use whatever {@code options.geometry()} says: a memory that runs beside a
     *     supervised head in one package reads the same input tensor (null = from the options)
     */
    public AnomalyTrainer(Backbone backbone, ImageDataset dataset, AnomalyOptions options, Preprocessing input,
            PrintStream log) {
        this.backbone = backbone;
        this.dataset = dataset;
        this.options = options;
        this.input = input;
        this.log = log;
    }

    /** The good class of {@code data} for these options; says what to do when there is none. */
    public static int okIndex(ImageDataset data, String okLabel) {
        int ok = data.okIndex(okLabel);
        if (ok < 0) {
            throw new VigilException("a model from good parts alone needs a folder of good images in " + data.root()
                    + " named ok, good, pass or normal (or --ok-label NAME); its folders are " + data.classes());
        }
        if (data.classes().get(ok).equals(Manifest.ANOMALY_LABEL)) {
            throw new VigilException("the good-part folder is named '" + Manifest.ANOMALY_LABEL + "', the name"
                    + " of the class an anomaly model adds; rename the folder (e.g. ok)");
        }
        return ok;
    }

    /** Resolves the taps on this backbone and lays them out at input {@code pre}. */
    public static AnomalyPlan plan(Backbone backbone, AnomalyOptions o, Preprocessing pre) {
        GraphAnatomy a = backbone.anatomy();
        List<Integer> blocks = new ArrayList<>(new TreeSet<>(o.taps()).descendingSet());
        List<String> taps = blocks.stream().map(a::blockBack).toList();
        PatchFeatures.Layout layout = PatchFeatures.layout(backbone.graph(), pre, taps);
        int n = o.neighbourhood();
        if (n > 1 && (layout.gridHeight() < 2 || layout.gridWidth() < 2)) {
            throw new VigilException("the " + pre.width() + "x" + pre.height() + " input gives only a "
                    + layout.gridWidth() + "x" + layout.gridHeight() + " grid of patches at taps " + o.taps()
                    + "; give a larger --input or --long-side, or shallower --taps");
        }
        return new AnomalyPlan(pre, blocks, taps, layout, n);
    }

    public AnomalyModel train() {
        long t0 = System.nanoTime();
        resetPeakHeap();
        int ok = okIndex(dataset, options.okLabel());
        String okLabel = dataset.classes().get(ok);
        List<LabelledImage> good = dataset.images().stream().filter(i -> i.label() == ok).toList();
        List<LabelledImage> others = dataset.images().stream().filter(i -> i.label() != ok).toList();
        List<String> otherClasses = dataset.classes().stream().filter(c -> !c.equals(okLabel)).toList();
        requireEnough(good.size(), okLabel);
        if (options.groupBy() != null) {
            Grouping.byRegex(names(good), options.groupBy()); // a bad expression fails now, not after extraction
        }
        Preprocessing pre = input != null ? input
                : TransferTrainer.inputFor(backbone, geometry(good), options.seed(), good);
        if (input == null && options.geometry().tiles() != null) {
            // with a fixed input the caller's backbone is already the one that input belongs to
            backbone = options.geometry().tiles().tile(backbone, pre);
        }
        AnomalyPlan plan = plan(backbone, options, pre);
        int cells = plan.cells();
        int channels = plan.channels();
        log.printf(Locale.ROOT, "anomaly model from %d good images of '%s'%s: backbone %s, taps %s %s, input %dx%d %s,"
                + " %dx%d patches of %d values (%dx%d neighbourhood)%n", good.size(), okLabel,
                otherClasses.isEmpty() ? "" : " (" + others.size() + " images of " + otherClasses
                        + " are not learnt from, only scored for the report)",
                backbone.name(), plan.tapBlocks(), plan.taps(), pre.width(), pre.height(),
                pre.fit().name().toLowerCase(Locale.ROOT), plan.layout().gridWidth(), plan.layout().gridHeight(),
                channels, plan.neighbourhood(), plan.neighbourhood());

        // 1. candidates: every good image's own k-center selection of its patches
        long tExtract = System.nanoTime();
        long patches = (long) good.size() * cells;
        int memoryTarget = memoryTarget(patches);
        int perImage = (int) Math.min(cells, Math.max(1, (CANDIDATE_FACTOR * (long) memoryTarget + good.size() - 1)
                / good.size()));
        Candidates cand = candidates(plan, good, perImage);
        if (cand.kept.size() < good.size()) {
            requireEnough(cand.kept.size(), okLabel);
        }
        double extractSeconds = seconds(tExtract);

        // 2. out-of-fold scores
        int n = cand.kept.size();
        int[] groups;
        String grouping;
        if (options.groupBy() != null) {
            groups = Grouping.byRegex(names(cand.kept), options.groupBy());
            grouping = "--group-by " + options.groupBy();
        } else {
            double threshold = Grouping.suggestedThreshold(cand.descriptors);
            groups = Grouping.nearDuplicates(cand.descriptors, threshold);
            grouping = String.format(Locale.ROOT, "near-duplicates (cosine >= %.3f)", threshold);
        }
        int parts = Grouping.count(groups);
        int k = Math.min(options.folds(), parts);
        if (k < 2) {
            throw new VigilException("the " + n + " good images look like a single part (" + grouping + "), so none"
                    + " can be held out to place the threshold; add images of other parts, or give --group-by REGEX"
                    + " if the file names say which part each image shows");
        }
        if (k < options.folds()) {
            log.printf(Locale.ROOT, "only %d distinct parts among the good images (%s): %d folds instead of %d%n",
                    parts, grouping, k, options.folds());
        }
        int[] fold = GroupKFold.assign(new int[n], groups, k, options.seed());
        double[] oof = new double[n];
        double coresetSeconds = 0;
        long tScore = System.nanoTime();
        for (int f = 0; f < k; f++) {
            final int held = f;
            int[] train = IntStream.range(0, n).filter(i -> fold[i] != held).toArray();
            int[] test = IntStream.range(0, n).filter(i -> fold[i] == held).toArray();
            long tc = System.nanoTime();
            PatchMemory memory = coreset(cand, train, String.format(Locale.ROOT, "memory (fold %d/%d)", f + 1, k));
            coresetSeconds += seconds(tc);
            double[] scores = score(plan, memory, Arrays.stream(test).mapToObj(cand.kept::get).toList(),
                    String.format(Locale.ROOT, "scoring fold %d/%d", f + 1, k));
            for (int i = 0; i < test.length; i++) {
                oof[test[i]] = scores[i];
            }
        }
        double scoreSeconds = seconds(tScore) - coresetSeconds;
        Calibration calibration = Calibration.of(oof, options.targetFalseRejectRate());
        if (n * options.targetFalseRejectRate() < 1) {
            log.printf(Locale.ROOT, "note: with %d good images the finest false-reject rate the threshold can be"
                    + " placed at is about 1/%d = %.1f%%; %d or more good images are needed for %.1f%%%n", n, n,
                    100.0 / n, (int) Math.ceil(1 / options.targetFalseRejectRate()),
                    100 * options.targetFalseRejectRate());
        }
        log.printf(Locale.ROOT, "out-of-fold scores of %d good images: median %.3f, q99 %.3f, max %.3f ->"
                + " threshold %.3f (rejects %.2f%% of them; target %.2f%%), scale %.4f%n", n,
                calibration.quantiles().get("q50"), calibration.quantiles().get("q99"),
                calibration.quantiles().get("max"), calibration.threshold(),
                100 * calibration.outOfFoldFalseRejectRate(), 100 * options.targetFalseRejectRate(),
                calibration.scale());

        // 3. the final memory, from every good image
        long tc = System.nanoTime();
        PatchMemory memory = coreset(cand, IntStream.range(0, n).toArray(), "memory (all good images)");
        coresetSeconds += seconds(tc);

        AnomalyModel.LabelledDefects defects = null;
        List<LabelledImage> scored = new ArrayList<>(cand.kept);
        double[] scores = oof;
        if (!others.isEmpty()) {
            long ts = System.nanoTime();
            double[] s = score(plan, memory, others, "scoring " + String.join(", ", otherClasses));
            scoreSeconds += seconds(ts);
            scored.addAll(others);
            scores = java.util.stream.DoubleStream.concat(Arrays.stream(oof), Arrays.stream(s)).toArray();
            double caught = Arrays.stream(s).filter(v -> v >= calibration.threshold()).count();
            defects = new AnomalyModel.LabelledDefects(s.length, Auroc.of(s, oof), caught / s.length);
            log.printf(Locale.ROOT, "%d images of %s against the memory: AUROC %.4f against the good images'"
                    + " out-of-fold scores, %.1f%% at or above the threshold%n", s.length, otherClasses,
                    defects.auroc(), 100 * defects.recallAtThreshold());
        }
        List<String> labels = new ArrayList<>(List.of(okLabel, Manifest.ANOMALY_LABEL));
        labels.sort(null);
        Map<String, Double> timing = new LinkedHashMap<>();
        timing.put("extractSeconds", extractSeconds);
        timing.put("coresetSeconds", coresetSeconds);
        timing.put("scoreSeconds", scoreSeconds);
        timing.put("totalSeconds", seconds(t0));
        AnomalyModel.Summary summary = new AnomalyModel.Summary(n, cand.skipped, otherClasses,
                datasetHash(okLabel, cand.sha), cells, perImage, cand.count, memory.size(), k, parts, grouping,
                defects, timing, peakHeap());
        return new AnomalyModel(backbone, plan, memory, calibration, labels, okLabel, options, summary,
                verificationImages(cand.kept, others), new AnomalyModel.Scores(scored, scores));
    }

    /**
     * The input geometry: as asked, or automatically the images' own resolution (their median longest side, rounded
     * up to a multiple of {@value InputGeometry#ALIGN}, between the backbone's input and
     * {@value InputGeometry#AUTO_MAX_LONG_SIDE} px). Unlike a classifier, which sees the whole part at once, a
     * memory of patches compares detail with detail: casting at 300 px scored AUROC 0.984 at 320 px and 0.956 at
     * 224 px (8192 memory rows; docs/trainer.md).
     */
    private InputGeometry geometry(List<LabelledImage> good) {
        if (!options.geometry().auto()) {
            return options.geometry();
        }
        List<LabelledImage> sample = new ArrayList<>(good);
        java.util.Collections.shuffle(sample, new java.util.Random(options.seed()));
        List<int[]> sizes = InputGeometry.measure(sample.subList(0, Math.min(GEOMETRY_SAMPLE, sample.size()))
                .stream().map(LabelledImage::path).toList());
        if (sizes.isEmpty()) {
            return options.geometry();
        }
        int[] longest = sizes.stream().mapToInt(s -> Math.max(s[0], s[1])).sorted().toArray();
        Preprocessing nativePre = backbone.preprocessing();
        int side = (longest[longest.length / 2] + InputGeometry.ALIGN - 1) / InputGeometry.ALIGN * InputGeometry.ALIGN;
        side = Math.max(Math.max(nativePre.width(), nativePre.height()), Math.min(InputGeometry.AUTO_MAX_LONG_SIDE,
                side));
        return new InputGeometry(0, 0, side, options.geometry().tiles());
    }

    private static List<String> names(List<LabelledImage> images) {
        return images.stream().map(i -> i.path().getFileName().toString()).toList();
    }

    private static void requireEnough(int goodImages, String okLabel) {
        if (goodImages < AnomalyOptions.MIN_GOOD_IMAGES) {
            throw new VigilException("'" + okLabel + "' has " + goodImages + " readable good image"
                    + (goodImages == 1 ? "" : "s") + "; a model from good parts alone needs at least "
                    + AnomalyOptions.MIN_GOOD_IMAGES + " to place its threshold on images it has not seen (and about"
                    + " 100 or more for a false-reject rate near 1%): add good images");
        }
    }

    /** Rows of a memory built from {@code patches} patches: the coreset fraction of them, at most the memory size. */
    private int memoryTarget(long patches) {
        return (int) Math.max(1, Math.min(options.memorySize(), Math.ceil(options.coresetFraction() * patches)));
    }

    // ---- step 1: candidates ------------------------------------------------------------------------------------

    /** Every readable image's candidate patches (full vectors and projections) and a descriptor for grouping. */
    private static final class Candidates {
        final int channels;
        final int dims;
        final int cells;
        final List<LabelledImage> kept = new ArrayList<>();
        final List<String> sha = new ArrayList<>();
        float[][] descriptors;
        int[] offset; // first candidate of kept image i; offset[n] = count
        float[] rows;
        float[] projected;
        int count;
        int skipped;

        Candidates(int channels, int dims, int cells) {
            this.channels = channels;
            this.dims = dims;
            this.cells = cells;
        }
    }

    private Candidates candidates(AnomalyPlan plan, List<LabelledImage> images, int perImage) {
        int cells = plan.cells();
        int c = plan.channels();
        int p = Math.min(KCenterCoreset.PROJECTION_DIMS, c);
        float[] projection = KCenterCoreset.projection(c, p, options.seed());
        Candidates cand = new Candidates(c, p, cells);
        cand.rows = new float[images.size() * perImage * c];
        cand.projected = new float[images.size() * perImage * p];
        List<float[]> descriptors = new ArrayList<>();
        List<Integer> offsets = new ArrayList<>();
        OnnxGraph graph = AnomalyGraph.features(backbone, plan, projection, p);
        int batch = batchSize((long) cells * (c + p));
        log.printf(Locale.ROOT, "each image offers its %d most distinct patches of %d (k-center) to the memory%n",
                perImage, cells);
        runOver(graph, plan.preprocessing(), images, batch, List.of(AnomalyGraph.LOCAL, AnomalyGraph.PROJECTED),
                "patches (good images)", cand, (idx, outs) -> {
                    int m = idx.length;
                    int[][] picks = new int[m][];
                    IntStream.range(0, m).parallel().forEach(b -> {
                        float[] rowsOfCells = transpose(outs[1], b * p * cells, p, cells);
                        picks[b] = KCenterCoreset.select(rowsOfCells, cells, p, perImage,
                                options.seed() + idx[b], Progress.silent());
                    });
                    for (int b = 0; b < m; b++) {
                        int localBase = b * c * cells;
                        float[] d = new float[c];
                        for (int ch = 0; ch < c; ch++) {
                            double s = 0;
                            for (int j = 0; j < cells; j++) {
                                s += outs[0][localBase + ch * cells + j];
                            }
                            d[ch] = (float) (s / cells);
                        }
                        descriptors.add(d);
                        offsets.add(cand.count);
                        for (int cell : picks[b]) {
                            int at = cand.count++;
                            for (int ch = 0; ch < c; ch++) {
                                cand.rows[at * c + ch] = outs[0][localBase + ch * cells + cell];
                            }
                            for (int q = 0; q < p; q++) {
                                cand.projected[at * p + q] = outs[1][b * p * cells + q * cells + cell];
                            }
                        }
                    }
                });
        offsets.add(cand.count);
        cand.offset = offsets.stream().mapToInt(Integer::intValue).toArray();
        cand.descriptors = descriptors.toArray(float[][]::new);
        return cand;
    }

    /** A CHW slice ({@code rows x cols}, starting at {@code from}) as {@code cols} rows of {@code rows} values. */
    private static float[] transpose(float[] src, int from, int rows, int cols) {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                out[j * rows + r] = src[from + r * cols + j];
            }
        }
        return out;
    }

    // ---- coreset and scoring ----------------------------------------------------------------------------------

    /** A memory from the candidates of images {@code images}: their k-center coreset. */
    private PatchMemory coreset(Candidates cand, int[] images, String label) {
        int c = cand.channels;
        int p = cand.dims;
        int total = 0;
        for (int i : images) {
            total += cand.offset[i + 1] - cand.offset[i];
        }
        float[] proj = new float[total * p];
        int[] source = new int[total];
        int at = 0;
        for (int i : images) {
            for (int r = cand.offset[i]; r < cand.offset[i + 1]; r++) {
                System.arraycopy(cand.projected, r * p, proj, at * p, p);
                source[at++] = r;
            }
        }
        // the memory these images' patches call for (the candidates are a share of the patches)
        int target = Math.min(total, memoryTarget((long) images.length * cand.cells));
        int[] keep;
        try (Progress progress = new Progress(log, label, target)) {
            progress.status(target + " of " + total + " candidate patches");
            keep = KCenterCoreset.select(proj, total, p, target, options.seed(), progress);
        }
        float[] rows = new float[keep.length * c];
        for (int i = 0; i < keep.length; i++) {
            System.arraycopy(cand.rows, source[keep[i]] * c, rows, i * c, c);
        }
        return PatchMemory.of(rows, keep.length, c);
    }

    /** Every image's score (its worst patch's distance to {@code memory}), computed by the distance graph. */
    private double[] score(AnomalyPlan plan, PatchMemory memory, List<LabelledImage> images, String label) {
        int cells = plan.cells();
        double[] out = new double[images.size()];
        Arrays.fill(out, Double.NaN);
        OnnxGraph graph = AnomalyGraph.distances(backbone, plan, memory);
        int batch = batchSize((long) cells * Math.min(AnomalyGraph.MEMORY_CHUNK, memory.size()));
        Candidates sink = new Candidates(0, 0, cells);
        runOver(graph, plan.preprocessing(), images, batch, List.of(AnomalyGraph.DISTANCE), label, sink, (idx, outs) -> {
            for (int b = 0; b < idx.length; b++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < cells; j++) {
                    max = Math.max(max, outs[0][b * cells + j]);
                }
                out[idx[b]] = max;
            }
        });
        if (sink.skipped > 0) {
            throw new VigilException(sink.skipped + " image(s) could not be read a second time; check the dataset"
                    + " folder is not being changed during training");
        }
        return out;
    }

    /** Images per batch so that a batch's largest tensor stays near {@link #BATCH_FLOATS} floats. */
    private static int batchSize(long floatsPerImage) {
        return (int) Math.max(1, Math.min(MAX_BATCH, BATCH_FLOATS / Math.max(1, floatsPerImage)));
    }

    /** What to do with one batch's outputs: {@code idx} are the images' positions in the list given. */
    private interface BatchConsumer {
        void accept(int[] idx, float[][] outputs);
    }

    /**
     * Runs {@code graph} over the images in batches. Unreadable images are skipped with a warning and counted in
     * {@code cand}; readable ones are added to {@code cand.kept} (with their SHA-256).
     */
    private void runOver(OnnxGraph graph, Preprocessing pre, List<LabelledImage> images, int batch,
            List<String> outputs, String label, Candidates cand, BatchConsumer consumer) {
        int per = pre.valuesPerImage();
        try (OrtSession session = env.createSession(graph.toBytes(), FeatureExtractor.sessionOptions());
                Progress progress = new Progress(log, label, images.size())) {
            String input = backbone.graph().inputName();
            float[] buffer = new float[batch * per];
            List<Integer> pending = new ArrayList<>();
            for (int i = 0; i <= images.size(); i++) {
                if (i < images.size()) {
                    checkCancelled();
                    LabelledImage img = images.get(i);
                    try {
                        byte[] bytes = ImageIo.read(img.path());
                        float[] x = ImageIo.preprocess(bytes, pre, Variant.ORIGINAL, img.path().toString());
                        System.arraycopy(x, 0, buffer, pending.size() * per, per);
                        cand.kept.add(img);
                        cand.sha.add(Hashing.sha256(bytes));
                        pending.add(i);
                    } catch (VigilException e) {
                        log.println("warning: skipping " + img.path() + ": " + e.getMessage());
                        cand.skipped++;
                        progress.step(1);
                    }
                }
                if (!pending.isEmpty() && (pending.size() == batch || i == images.size())) {
                    int m = pending.size();
                    try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(buffer, 0, m * per),
                            new long[] {m, 3, pre.height(), pre.width()});
                            OrtSession.Result r = session.run(Map.of(input, in))) {
                        float[][] outs = new float[outputs.size()][];
                        for (int o = 0; o < outputs.size(); o++) {
                            outs[o] = dev.vigil.trainer.onnx.OnnxTensors.floats(r.get(outputs.get(o)).orElseThrow());
                        }
                        consumer.accept(pending.stream().mapToInt(Integer::intValue).toArray(), outs);
                    }
                    progress.step(m);
                    pending.clear();
                }
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on the anomaly graph: " + e.getMessage(), e);
        }
    }

    static void checkCancelled() {
        if (Thread.currentThread().isInterrupted()) {
            throw new VigilException("training cancelled");
        }
    }

    // ---- bookkeeping ------------------------------------------------------------------------------------------

    /** Good images spread evenly over the set and images of the other folders, interleaved (a few of each). */
    private static List<LabelledImage> verificationImages(List<LabelledImage> good, List<LabelledImage> others) {
        List<LabelledImage> out = new ArrayList<>();
        int g = Math.min(VERIFY_GOOD, good.size());
        int o = Math.min(VERIFY_OTHER, others.size());
        for (int i = 0; i < Math.max(g, o); i++) { // interleaved: any prefix of the list has both kinds
            if (i < o) {
                out.add(others.get((int) ((long) i * others.size() / o)));
            }
            if (i < g) {
                out.add(good.get((int) ((long) i * good.size() / g)));
            }
        }
        return out;
    }

    private static String datasetHash(String okLabel, List<String> shas) {
        TreeSet<String> entries = new TreeSet<>();
        shas.forEach(s -> entries.add(okLabel + "/" + s));
        return Hashing.sha256(String.join("\n", entries).getBytes(StandardCharsets.UTF_8));
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    private static void resetPeakHeap() {
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                pool.resetPeakUsage();
            }
        }
    }

    /** The sum of the heap pools' peak use since {@link #resetPeakHeap} (an upper bound on the peak heap). */
    private static long peakHeap() {
        long sum = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
                sum += pool.getPeakUsage().getUsed();
            }
        }
        return sum;
    }
}
