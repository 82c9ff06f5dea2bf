package dev.vigil.trainer.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.optimizer.Optimizer;
import dev.vigil.core.VigilException;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.trainer.backbone.Tiling;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.data.LabelledImage;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.eval.Auroc;
import dev.vigil.trainer.eval.GroupKFold;
import dev.vigil.trainer.eval.Grouping;
import dev.vigil.trainer.eval.Metrics;
import dev.vigil.trainer.eval.RecallBound;
import dev.vigil.trainer.eval.OperatingPoint;
import dev.vigil.trainer.features.FeatureSpec;
import dev.vigil.trainer.features.FeatureStore;
import dev.vigil.trainer.features.FeatureStore.Extracted;
import dev.vigil.trainer.features.Features;
import dev.vigil.trainer.features.PatchFeatures;
import dev.vigil.trainer.onnx.GraphAnatomy;
import dev.vigil.trainer.onnx.GraphSurgery;
import dev.vigil.core.Hashing;
import dev.vigil.trainer.util.Progress;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * Transfer learning from an ImageNet backbone. The frozen prefix runs once per image and variant (ONNX Runtime,
 * cached); the suffix and the new head train on DJL's PyTorch engine with early stopping on the validation split.
 *
 * <pre>{@code
 * try (TransferTrainer t = new TransferTrainer(backbone, dataset, TrainOptions.defaults(), cacheDir, System.err)) {
 *     TrainingResult r = t.train();
 *     new ModelExporter(t).write(outDir);
 * }
 * }</pre>
 */
public final class TransferTrainer implements AutoCloseable {
    /**
     * An epoch is at least this many samples (whole shuffled passes, the last cut short): with a handful of images
     * per class a pass is one or two steps, too few for the head to converge within the epoch budget.
     */
    static final int MIN_EPOCH_SAMPLES = 512;
    /** Samples used to standardise the head's input (mean and standard deviation per feature). */
    private static final int CALIBRATION_SAMPLES = 1024;
    /** Images (times variants) whose cells standardise the patch head's input. */
    private static final int PATCH_CALIBRATION_IMAGES = 64;
    private final Backbone backbone;
    private final ImageDataset dataset;
    private final TrainOptions options;
    private final Path cacheRoot;
    private final PrintStream log;
    private final NDManager manager;
    /** The plan of the current stage (progressive unfreezing moves the cut); after {@link #train}, the exported one. */
    private TrainingPlan plan;
    /** The input geometry every stage shares. */
    private final Preprocessing input;
    /** Progressive unfreezing: the most blocks it unfreezes; constant schedule: the plan's own. */
    private final int lastStage;
    /** The features of every readable image at the current plan's cut, and their labels. */
    private Extracted all;
    private int[] allLabels;
    private final int okIndex;
    private TransferNetwork network;
    private Extracted validation;
    private TrainingResult result;
    private OutOfFold outOfFold;
    private final List<Variant> variants;
    private int[] groups;
    private int[][] holdOutSplit;
    private TransferNetwork mapNetwork;
    private List<LabelledImage> labelledImages;
    /** The heads of a multi-task model; null for the single classifier. */
    private final Heads heads;
    /** Per readable image, its class per head (-1 = unknown); multi-task only. */
    private int[][] allHeads;
    /** Per head, out-of-fold (or held-out) figures over the images labelled for it; multi-task only. */
    private Map<String, Metrics> headMetrics;
    /**
     * Most bytes the patch-feature maps of all images and variants may take in memory (half precision): beyond it,
     * augmentation variants are left out, the last first (the target device has 8 GB for everything).
     */
    static final long PATCH_MEMORY_BUDGET = 1536L << 20;

    public TransferTrainer(Backbone backbone, ImageDataset dataset, TrainOptions options, Path cacheRoot,
            PrintStream log) {
        this(backbone, dataset, options, cacheRoot, log, null);
    }

    /**
     * A multi-task trainer when {@code heads} is given: {@code dataset} is then the verdict head's view of the images
     * ({@link Heads#dataset}), and every head trains on the one shared suffix.
     */
    public TransferTrainer(Backbone backbone, ImageDataset dataset, TrainOptions options, Path cacheRoot,
            PrintStream log, Heads heads) {
        this.heads = heads;
        this.dataset = dataset;
        this.options = options;
        this.cacheRoot = cacheRoot;
        this.log = log;
        if (dataset.classes().size() < 2) {
            throw new VigilException("dataset " + dataset.root() + " has only one class (" + dataset.classes()
                    + "); a classifier needs at least two class folders");
        }
        this.okIndex = dataset.okIndex(options.okLabel());
        if (heads != null && options.head() == HeadKind.PATCH) {
            throw new VigilException("--labels trains pooled heads only; drop --head patch");
        }
        List<int[]> sizes = sizesFor(options.geometry(), options.seed(), dataset.images());
        Preprocessing pre = options.geometry().resolve(backbone.preprocessing(), sizes);
        if (options.geometry().auto()) {
            String mixed = InputGeometry.mixedSizes(sizes);
            if (mixed != null) {
                log.printf(Locale.ROOT, "warning: %s; the input is %dx%d for all of them. Give --size, --input or"
                        + " --long-side to choose it (small defects on the larger images may need more pixels)%n",
                        mixed, pre.width(), pre.height());
            }
        }
        this.input = pre;
        TrainingPlan target = plan(backbone, options, pre);
        this.lastStage = target.unfreeze();
        Tiling tiles = options.geometry().tiles();
        // tiled: the backbone graph itself cuts the input into tiles and stitches its feature maps back together
        this.backbone = tiles == null ? backbone : tiles.tile(backbone, pre);
        this.plan = options.progressive() ? stagePlan(0) : target;
        this.variants = variantsWithinBudget();
        this.manager = Engine.getEngine("PyTorch").newBaseManager();
    }

    /**
     * How many training images the automatic input geometry looks at: enough that a dataset of two sizes (two
     * products, a multi-task table) gets the same input whatever the seed (64 swung between 224x224 and 416x1024 on
     * casting + KolektorSDD, docs/benchmarks.md).
     */
    private static final int GEOMETRY_SAMPLE = 256;

    /** The network input for geometry {@code g} and these images (a seeded sample of them is measured). */
    public static Preprocessing inputFor(Backbone backbone, InputGeometry g, long seed, List<LabelledImage> images) {
        return g.resolve(backbone.preprocessing(), sizesFor(g, seed, images));
    }

    /**
     * The sizes geometry {@code g} is resolved from: those of a seeded sample of {@link #GEOMETRY_SAMPLE} images, or
     * none when the size is given.
     */
    private static List<int[]> sizesFor(InputGeometry g, long seed, List<LabelledImage> images) {
        if (g.width() != 0) {
            return List.of();
        }
        List<LabelledImage> imgs = new ArrayList<>(images);
        java.util.Collections.shuffle(imgs, new Random(seed));
        return InputGeometry.measure(imgs.subList(0, Math.min(GEOMETRY_SAMPLE, imgs.size())).stream()
                .map(LabelledImage::path).toList());
    }

    /** Resolves the head, the cut and the taps for these options on this backbone, with the input {@code pre}. */
    public static TrainingPlan plan(Backbone backbone, TrainOptions o, Preprocessing pre) {
        GraphAnatomy a = backbone.anatomy();
        Preprocessing nativePre = backbone.preprocessing();
        boolean larger = (long) pre.width() * pre.height() > (long) nativePre.width() * nativePre.height() * 3 / 2;
        // measured on KolektorSDD (docs/benchmarks.md): the pooled head beats the multiple-instance patch head, so
        // AUTO means pooled; a large input trains the head only (a trained block would cache maps 8x the size)
        boolean patches = o.head() == HeadKind.PATCH;
        int unfreeze = o.unfreeze() == TrainOptions.UNFREEZE_ALL ? a.allBlocks() : o.unfreeze() >= 0 ? o.unfreeze()
                : o.progressive() ? a.allBlocks() : patches || larger ? 0 : 1;
        if (o.geometry().tiles() != null && (unfreeze > 0 || o.random())) {
            throw new VigilException("--tiles stitches the frozen backbone's feature maps: use --unfreeze 0 (and"
                    + " --init pretrained)");
        }
        if (patches && (unfreeze > 0 || o.random())) {
            throw new VigilException("--head patch trains a new head on frozen features: use --unfreeze 0 (or"
                    + " --head pooled to train backbone blocks)");
        }
        if (o.progressive() && (o.random() || unfreeze == 0)) {
            throw new VigilException("--schedule progressive unfreezes pretrained blocks one by one: it needs"
                    + " --init pretrained and --unfreeze of 1 or more (or all, the default with it)");
        }
        if (patches) {
            List<String> taps = new ArrayList<>();
            for (int back : new TreeSet<>(o.taps()).descendingSet()) {
                taps.add(a.blockBack(back));
            }
            return new TrainingPlan(pre, PatchFeatures.TENSOR, PatchFeatures.TENSOR, taps, List.of(), o.pool(), 0,
                    false, true);
        }
        String cut = o.random() ? a.input() : a.cutFor(unfreeze);
        int cutIndex = a.cutPoints().indexOf(cut);
        List<String> prefixTaps = new ArrayList<>();
        List<String> suffixTaps = new ArrayList<>();
        for (int back : new TreeSet<>(o.taps()).descendingSet()) {
            String t = a.blockBack(back);
            if (!o.random() && a.cutPoints().indexOf(t) <= cutIndex) {
                prefixTaps.add(t);
            } else {
                suffixTaps.add(t);
            }
        }
        return new TrainingPlan(pre, cut, a.features(), prefixTaps, suffixTaps, o.pool(),
                o.random() ? a.maxUnfreeze() + 1 : unfreeze, o.random(), false);
    }

    public TrainingPlan plan() {
        return plan;
    }

    /** The plan of progressive unfreezing's stage {@code blocks}: that many blocks trainable. */
    private TrainingPlan stagePlan(int blocks) {
        Finetune f = options.finetune();
        return plan(backbone, options.withUnfreeze(blocks).withFinetune(new Finetune(f.lrDecay(), f.bnTrain(), 0)),
                input);
    }

    /** The backbone file's hash, and the tiling when its graph is tiled (cached features differ). */
    private String backboneKey() {
        Tiling t = options.geometry().tiles();
        return backbone.sha256() + (t == null ? "" : "|tiles " + t);
    }

    public Backbone backbone() {
        return backbone;
    }

    public ImageDataset dataset() {
        return dataset;
    }

    public TrainOptions options() {
        return options;
    }

    public TransferNetwork network() {
        return network;
    }

    /** The part (group id) of each readable image of the last run, in {@link #labelledImages()} order. */
    public int[] groups() {
        return groups;
    }

    /** The readable images of the last run. */
    public List<LabelledImage> labelledImages() {
        return labelledImages;
    }

    /** The last run's held-out split: indices into {@link #labelledImages()}, training then validation. */
    public int[][] holdOutSplit() {
        return holdOutSplit;
    }

    public Extracted validationFeatures() {
        return validation;
    }

    public int okIndex() {
        return okIndex;
    }

    /**
     * The scores behind the operating point: every labelled image's class probabilities from a network that did not
     * train on its part ({@code crossValidated}), or the held-out split's when no cross-validation was possible.
     * Available after {@link #train}.
     */
    public record OutOfFold(List<LabelledImage> images, int[] labels, float[][] probabilities,
            boolean crossValidated) {
        public OutOfFold {
            images = List.copyOf(images);
        }
    }

    public OutOfFold outOfFold() {
        if (outOfFold == null) {
            throw new IllegalStateException("train() first");
        }
        return outOfFold;
    }

    public TrainingResult result() {
        return result;
    }

    public FeatureSpec featureSpec() {
        return new FeatureSpec(backboneKey(), plan.preprocessing(), plan.cut(), plan.hasSuffix() || plan.patches(),
                plan.prefixTaps(), plan.pool());
    }

    public TrainingResult train() {
        long t0 = System.nanoTime();
        driftReference = null;
        inputReference = null;
        Engine.getEngine("PyTorch").setRandomSeed((int) options.seed());
        FeatureSpec spec = featureSpec();
        if (plan.patches()) {
            log.printf(Locale.ROOT, "backbone %s: patch head (a score for every cell, log-sum-exp pooling r=%s) on"
                    + " taps %s, input %dx%d %s%n", backbone.name(), options.lseR(), plan.prefixTaps(),
                    plan.preprocessing().width(), plan.preprocessing().height(),
                    plan.preprocessing().fit().name().toLowerCase(Locale.ROOT));
        } else {
            log.printf(Locale.ROOT, "backbone %s: cut at %s (%d block%s trained)%s, taps %s, input %dx%d %s%n",
                    backbone.name(), plan.cut(), plan.unfreeze(), plan.unfreeze() == 1 ? "" : "s",
                    plan.random() ? ", random init" : "", concat(plan.prefixTaps(), plan.suffixTaps()),
                    plan.preprocessing().width(), plan.preprocessing().height(),
                    plan.preprocessing().fit().name().toLowerCase(Locale.ROOT) + ", pool "
                            + plan.pool().name().toLowerCase(Locale.ROOT));
        }
        if (options.progressive()) {
            log.printf(Locale.ROOT, "schedule: progressive unfreezing, the head alone first, then one more block every"
                    + " %d epochs up to %d blocks (each earlier block at %s x the rate of the next; BatchNorm"
                    + " statistics %s)%n", options.finetune().progressiveEvery(), lastStage,
                    options.finetune().lrDecay(), options.finetune().bnTrain() ? "trained" : "frozen");
        } else if (plan.unfreeze() > 1 && !plan.random()) {
            log.printf(Locale.ROOT, "discriminative learning rates: the last block at %s, each earlier one at %s x the"
                    + " next (BatchNorm statistics %s)%n", options.headLr() * options.backboneLrFactor(),
                    options.finetune().lrDecay(), options.finetune().bnTrain() ? "trained" : "frozen");
        }
        // every image, every variant, once: the splits below are views of this set
        all = FeatureStore.extract(backbone, spec, dataset.images(), augmentVariants(), cacheRoot, log,
                "features");
        stage = plan.unfreeze();
        int skipped = all.skipped();
        if (all.kept().isEmpty()) {
            throw new VigilException("no readable images left in " + dataset.root() + " after skipping " + skipped
                    + " unreadable ones");
        }
        double prefixSeconds = sum(all.forwardSeconds());
        double prefixOriginal = all.forwardSeconds()[0];
        long tTrain = System.nanoTime();
        int[] labels = all.kept().stream().mapToInt(LabelledImage::label).toArray();
        allLabels = labels;
        allHeads = heads == null ? null : all.kept().stream().map(i -> heads.labelsOf(i.path()))
                .toArray(int[][]::new);
        checkClassSizes(labels);
        // the splits are stratified by the verdict; images without one form a stratum of their own
        int[] strata = strata(labels);
        List<String> strataNames = strataNames(labels);

        // parts: no part on both sides of any split
        int[] groups = groups(all);
        this.groups = groups;
        this.labelledImages = all.kept();
        int groupCount = Grouping.count(groups);
        if (groupCount < labels.length) {
            log.printf(Locale.ROOT, "parts: %d images in %d groups (%s); no group is split%n", labels.length,
                    groupCount, options.groupBy() != null ? "--group-by " + options.groupBy()
                            : "near-duplicates joined");
        }

        // held-out split: chooses the number of epochs (early stopping)
        int[][] holdOut = GroupKFold.holdOut(strata, strataNames, groups, options.validationFraction(),
                options.seed());
        this.holdOutSplit = holdOut;
        int[] trainLabels = pick(labels, holdOut[0]);
        int[] valLabels = pick(labels, holdOut[1]);
        Fit fit = fitOn(holdOut[0], holdOut[1], options.epochs(), "training");
        TransferNetwork heldOut = network;
        validation = all.select(holdOut[1], ttaIndex());

        // out-of-fold scores over every labelled image: the operating point and the figures the package promises
        // without a good-part class there is no operating point to calibrate: the held-out figures suffice
        int[] withVerdict = knownVerdicts(labels);
        int folds = options.folds() == 0 || okIndex < 0 ? 0
                : GroupKFold.feasibleFolds(pick(labels, withVerdict), pick(groups, withVerdict), options.folds());
        float[][] scoredProbs;
        float[][][] scoredHeads;
        int[] scoredIdx;
        int[] scoredLabels;
        List<LabelledImage> scoredImages;
        CurveRuns curveRuns = null;
        if (folds >= 2) {
            int[] foldOf = GroupKFold.assign(strata, groups, folds, options.seed());
            scoredHeads = new float[headCount()][labels.length][];
            List<List<int[]>> splits = new ArrayList<>();
            for (int f = 0; f < folds; f++) {
                splits.add(GroupKFold.trainValidation(foldOf, f));
            }
            curveRuns = learningCurvePlan(splits, strata, labels, groups);
            for (int f = 0; f < folds; f++) {
                List<int[]> tv = splits.get(f);
                fitOn(tv.get(0), null, fit.bestEpoch(), "fold " + (f + 1) + "/" + folds);
                float[][][] p = headProbabilities(all.select(tv.get(1), ttaIndex()), all.cutShape());
                for (int h = 0; h < p.length; h++) {
                    for (int i = 0; i < p[h].length; i++) {
                        scoredHeads[h][tv.get(1)[i]] = p[h][i];
                    }
                }
            }
            scoredIdx = java.util.stream.IntStream.range(0, labels.length).toArray();
            scoredProbs = scoredHeads[verdictHead()];
            scoredLabels = labels;
            scoredImages = all.kept();
        } else {
            if (options.folds() != 0 && okIndex >= 0) {
                log.printf(Locale.ROOT, "warning: a class has fewer than 2 parts, so no cross-validation: the operating"
                        + " point comes from the held-out split alone%n");
            }
            scoredHeads = headProbabilities(validation, validation.cutShape());
            scoredIdx = holdOut[1];
            scoredProbs = scoredHeads[verdictHead()];
            scoredLabels = valLabels;
            scoredImages = validation.kept();
        }
        headMetrics = heads == null ? null : headMetrics(scoredHeads, scoredIdx);
        if (heads != null) {
            // the verdict's figures and operating point: over the images whose verdict is known
            int[] known = knownVerdicts(scoredLabels);
            List<LabelledImage> images = scoredImages;
            scoredImages = java.util.Arrays.stream(known).mapToObj(images::get).toList();
            scoredProbs = pickRows(scoredProbs, known);
            scoredLabels = pick(scoredLabels, known);
        }
        outOfFold = new OutOfFold(scoredImages, scoredLabels, scoredProbs, folds >= 2);
        network = heldOut;

        boolean refitted = false;
        if (options.refit()) {
            // every labelled image trains the exported model, from the same start, for the epochs chosen above
            int[] every = java.util.stream.IntStream.range(0, labels.length).toArray();
            fitOn(every, null, fit.bestEpoch(), "refit on all " + all.kept().size() + " images");
            refitted = true;
        }
        // the exported model's cut: where the schedule stood at the chosen epoch (the same for every run above)
        validation = all.select(holdOut[1], ttaIndex());
        if (plan.patches()) {
            mapNetwork = network;
        } else if (trainsDefectMap()) {
            mapNetwork = trainMapHead(all.kept(), labels, holdOut);
        }
        double[][] scores = okIndex < 0 ? null : defectScores(scoredProbs, scoredLabels);
        OperatingPoint op = scores == null ? null : OperatingPoint.choose(scores[0], scores[1],
                options.targetRecall());
        List<OperatingPoint.CurvePoint> curve = scores == null ? null : OperatingPoint.curve(scores[0], scores[1]);
        Metrics valMetrics = Metrics.of(dataset.classes(), scoredLabels, scoredProbs, okIndex,
                op == null ? 0.5 : op.defectThreshold());
        Calibration calibration = calibration(folds, groupCount, scores, op);
        Map<String, int[]> counts = new LinkedHashMap<>();
        for (int c = 0; c < dataset.classes().size(); c++) {
            final int cls = c;
            counts.put(dataset.classes().get(c), new int[] {(int) java.util.Arrays.stream(trainLabels)
                    .filter(l -> l == cls).count(), (int) java.util.Arrays.stream(valLabels).filter(l -> l == cls)
                    .count()});
        }
        // the curve's trainings come last, after everything the package holds: the engine's random state (dropout)
        // runs on from one training to the next, so the package is the same with the curve on or off
        LearningCurve learningCurve = curveRuns == null ? null : curveRuns.run(scoredProbs,
                op == null ? 0.5 : op.defectThreshold(), fit.bestEpoch());
        double trainSeconds = (System.nanoTime() - tTrain) / 1e9;
        result = new TrainingResult(plan, fit.history(), fit.bestEpoch(), refitted, valMetrics, op, curve, counts,
                skipped, all.fromCache(), datasetHash(all), prefixSeconds, prefixOriginal, trainSeconds,
                (System.nanoTime() - t0) / 1e9, calibration, learningCurve);
        if (calibration.warning() != null) {
            log.println("warning: " + calibration.warning());
        }
        return result;
    }

    /**
     * The learning curve's parts of every fold, or null when it is off or does not apply (multi-task: the curve is
     * the single classifier's). Says in the log what it will cost and which fractions it leaves out.
     */
    private CurveRuns learningCurvePlan(List<List<int[]>> splits, int[] strata, int[] labels, int[] groups) {
        if (!options.learningCurve() || heads != null) {
            return null;
        }
        int folds = splits.size();
        List<int[]> foldTrain = splits.stream().map(tv -> tv.get(0)).toList();
        LearningCurve.Plan p = LearningCurve.plan(foldTrain, strata, labels, dataset.classes(), groups, options.seed());
        for (String s : p.skipped()) {
            log.printf(Locale.ROOT, "learning curve: %s, left out%n", s);
        }
        log.printf(Locale.ROOT, "learning curve: once the package is trained, each of the %d folds also trains on %s"
                + " of its training images (%d more trainings; --learning-curve off skips them)%n", folds,
                percentages(p.fractions()), folds * p.fractions().length);
        return new CurveRuns(p, splits, labels);
    }

    private static String percentages(double[] fractions) {
        List<String> out = new ArrayList<>();
        for (double f : fractions) {
            out.add(String.format(Locale.ROOT, "%.0f%%", 100 * f));
        }
        return out.isEmpty() ? "no part" : String.join(", ", out);
    }

    /** The learning curve's trainings, fold by fold, and their out-of-fold probabilities. */
    private final class CurveRuns {
        final LearningCurve.Plan plan;
        /** Per fold: its training and its held-out images. */
        final List<List<int[]>> splits;
        final int[] labels;
        final int folds;

        CurveRuns(LearningCurve.Plan plan, List<List<int[]>> splits, int[] labels) {
            this.plan = plan;
            this.splits = splits;
            this.labels = labels;
            this.folds = splits.size();
        }

        /**
         * Trains every fold on each kept part of its training images for {@code epochs} epochs, scores the fold's
         * held-out images, and puts the network and stage of the package back. {@code wholeProbs}: the folds' own
         * out-of-fold probabilities (the 100% point).
         */
        LearningCurve run(float[][] wholeProbs, double threshold, int epochs) {
            long t = System.nanoTime();
            TransferNetwork kept = network;
            int keptStage = stage;
            int parts = plan.fractions().length;
            float[][][] probs = new float[parts][labels.length][];
            int[][][] trainCounts = new int[parts + 1][folds][];
            for (int f = 0; f < folds; f++) {
                List<int[]> tv = splits.get(f);
                trainCounts[parts][f] = classCounts(tv.get(0));
                for (int p = 0; p < parts; p++) {
                    int[] part = plan.parts()[p][f];
                    trainCounts[p][f] = classCounts(part);
                    fitOn(part, null, epochs, String.format(Locale.ROOT, "fold %d/%d at %.0f%%", f + 1, folds,
                            100 * plan.fractions()[p]));
                    float[][] q = headProbabilities(all.select(tv.get(1), ttaIndex()), all.cutShape())
                            [verdictHead()];
                    for (int i = 0; i < q.length; i++) {
                        probs[p][tv.get(1)[i]] = q[i];
                    }
                }
            }
            moveTo(keptStage);
            network = kept;
            double seconds = (System.nanoTime() - t) / 1e9;
            List<LearningCurve.Point> points = new ArrayList<>();
            List<String> classes = dataset.classes();
            for (int p = 0; p < parts; p++) {
                points.add(LearningCurve.point(plan.fractions()[p], classes, labels, probs[p], okIndex, threshold,
                        trainCounts[p]));
            }
            points.add(LearningCurve.point(1.0, classes, labels, wholeProbs, okIndex, threshold, trainCounts[parts]));
            Map<String, Integer> labelled = new LinkedHashMap<>();
            for (int c = 0; c < classes.size(); c++) {
                final int cls = c;
                labelled.put(classes.get(c), (int) java.util.Arrays.stream(labels).filter(l -> l == cls).count());
            }
            LearningCurve.Suggestion s = LearningCurve.suggest(points, labelled, options.targetRecall());
            for (LearningCurve.Point pt : points) {
                log.printf(Locale.ROOT, "learning curve: %3.0f%% (%.1f training images a fold): accuracy %.3f,"
                        + " balanced %.3f%s%n", 100 * pt.fraction(), pt.trainImages(), pt.accuracy(),
                        pt.balancedAccuracy(), pt.defectRecall() == null ? "" : String.format(Locale.ROOT,
                                ", defect recall %d/%d", pt.defectRecall().caught(), pt.defectRecall().total()));
            }
            log.printf(Locale.ROOT, "learning curve: %s%s (%.1fs)%n", s.className() == null ? ""
                    : "needs more '" + s.className() + "': ", s.reason(), seconds);
            return new LearningCurve(folds, epochs, points, plan.skipped(), s, seconds);
        }

        private int[] classCounts(int[] idx) {
            int[] n = new int[dataset.classes().size()];
            for (int i : idx) {
                if (labels[i] >= 0) {
                    n[labels[i]]++;
                }
            }
            return n;
        }
    }

    /**
     * The defect map of a pooled model: a patch head (multiple-instance learning from the image labels, see
     * {@link TransferNetwork#patchHead}) trained on the patch features of the same images and split. The pooled head
     * gives the scores, this one says where: on KolektorSDD the pooled head ranks images better and the patch head
     * finds the crack better (docs/benchmarks.md).
     */
    private TransferNetwork trainMapHead(List<LabelledImage> images, int[] labels, int[][] holdOut) {
        TransferNetwork main = network;
        Extracted patches = FeatureStore.extract(backbone, patchSpec(), images, List.of(Variant.ORIGINAL), cacheRoot,
                log, "patch features (defect map)");
        if (patches.kept().size() != images.size()) {
            throw new VigilException("an image became unreadable while training; train again");
        }
        fit(patches.select(holdOut[0], new int[] {0}), new Targets(pick(labels, holdOut[0]), null),
                patches.select(holdOut[1], new int[] {0}), new Targets(pick(labels, holdOut[1]), null),
                options.epochs(), "defect map", true);
        TransferNetwork map = network;
        network = main;
        return map;
    }

    /** Every class needs two images: one on each side of the held-out split. */
    private void checkClassSizes(int[] labels) {
        int[] n = new int[dataset.classes().size()];
        for (int l : labels) {
            if (l >= 0) {
                n[l]++;
            }
        }
        for (int c = 0; c < n.length; c++) {
            if (n[c] < 2) {
                throw new VigilException("class '" + dataset.classes().get(c) + "' in " + dataset.root() + " has "
                        + n[c] + " readable image" + (n[c] == 1 ? "" : "s") + "; each class needs at least 2 (one to"
                        + " train, one to validate): add images of it or remove its folder");
            }
        }
    }

    /**
     * The parts the images show: from the file names with {@code --group-by}, otherwise near-duplicates (images whose
     * brightness- and contrast-normalised {@link dev.vigil.trainer.data.Thumbnails} are nearly identical: the same
     * part under another light, consecutive frames) are joined.
     */
    private int[] groups(Extracted all) {
        if (options.groupBy() != null) {
            return Grouping.byRegex(all.kept().stream().map(i -> i.path().getFileName().toString()).toList(),
                    options.groupBy());
        }
        float[][] vectors = new float[all.kept().size()][];
        for (int i = 0; i < vectors.length; i++) {
            vectors[i] = dev.vigil.trainer.data.Thumbnails.of(all.kept().get(i).path());
        }
        int[] g = Grouping.nearDuplicates(vectors, Grouping.suggestedThreshold(vectors));
        int[] size = new int[Grouping.count(g)];
        int largest = 0;
        for (int x : g) {
            largest = Math.max(largest, ++size[x]);
        }
        if (largest > Math.max(MAX_AUTO_GROUP_SHARE * g.length, 8)) {
            log.printf(Locale.ROOT, "warning: near-duplicate grouping would put %d of %d images in one group (the"
                    + " images look alike); splitting by image instead. If several images show one part, give"
                    + " --group-by REGEX%n", largest, g.length);
            return Grouping.singletons(g.length);
        }
        return g;
    }

    /** A largest automatic group above this share of the images means the images look alike, not duplicates. */
    private static final double MAX_AUTO_GROUP_SHARE = 0.1;

    /** How far the operating point can be trusted: recall bound, defects behind it, and a plain warning. */
    private Calibration calibration(int folds, int groupCount, double[][] scores, OperatingPoint op) {
        return Calibration.of(folds >= 2 ? "out-of-fold" : "held-out", folds, groupCount, scores, op,
                options.targetRecall());
    }

    /** The epochs a run went through and the one whose weights it kept. */
    private record Fit(List<TrainingResult.EpochStats> history, int bestEpoch) {}

    /** The stage (trainable blocks) {@link #all} and {@link #plan} stand at. */
    private int stage;

    private int[] allVariants() {
        return java.util.stream.IntStream.range(0, augmentVariants().size()).toArray();
    }

    private int[] ttaIndex() {
        return ttaVariants().stream().mapToInt(augmentVariants()::indexOf).toArray();
    }

    /**
     * Trains a fresh network on the images {@code trainIdx} of {@link #all} (early stopping on {@code valIdx} when
     * given, otherwise exactly {@code epochs} epochs) under the schedule of the options.
     */
    private Fit fitOn(int[] trainIdx, int[] valIdx, int epochs, String label) {
        if (options.progressive()) {
            return fitProgressive(trainIdx, valIdx, epochs, label);
        }
        return fit(all.select(trainIdx, allVariants()), targets(trainIdx), valIdx == null ? null
                : all.select(valIdx, ttaIndex()), valIdx == null ? null : targets(valIdx), epochs, label,
                plan.patches());
    }

    /**
     * Progressive unfreezing: the head alone for {@code E} epochs, then one more pretrained block every {@code E}
     * epochs up to the last stage, each earlier block at a lower rate. Each stage moves the cut one block towards
     * the input (only what stays frozen is computed by the prefix and cached) and starts from the last stage's
     * weights; early stopping runs over the whole schedule, and the best epoch's stage and weights are restored.
     */
    private Fit fitProgressive(int[] trainIdx, int[] valIdx, int epochs, String label) {
        int every = options.finetune().progressiveEvery();
        Targets trainLabels = targets(trainIdx);
        Targets valLabels = valIdx == null ? null : targets(valIdx);
        EpochLoop loop = new EpochLoop(trainLabels);
        try (Progress progress = new Progress(log, label, epochs)) {
            for (int s = 0; s <= lastStage; s++) {
                int from = s * every + 1;
                if (from > epochs) {
                    break;
                }
                int to = s == lastStage ? epochs : Math.min(epochs, (s + 1) * every);
                TransferNetwork previous = s == 0 ? null : network;
                moveTo(s);
                Extracted train = all.select(trainIdx, allVariants());
                Extracted val = valIdx == null ? null : all.select(valIdx, ttaIndex());
                network = newNetwork(train, false);
                if (previous == null) {
                    calibrate(train, all.cutShape(), new Random(options.seed() + 1));
                } else {
                    network.adopt(previous.shift(), previous.scale(), previous.snapshot());
                }
                if (loop.run(train, trainLabels, val, valLabels, from, to, progress)) {
                    break;
                }
            }
        }
        if (valIdx != null) {
            if (loop.bestStage != stage) {
                float[] shift = network.shift();
                float[] scale = network.scale();
                moveTo(loop.bestStage);
                network = newNetwork(all.select(trainIdx, new int[] {0}), false);
                network.adopt(shift, scale, loop.best);
            } else {
                network.restore(loop.best);
            }
        }
        return new Fit(loop.history, loop.bestEpoch);
    }

    /** Moves the cut to progressive unfreezing's stage {@code blocks}: that stage's plan and features. */
    private void moveTo(int blocks) {
        if (blocks == stage && all != null) {
            return;
        }
        TrainingPlan next = stagePlan(blocks);
        List<LabelledImage> kept = all.kept();
        all = null; // one stage's maps in memory at a time
        plan = next;
        stage = blocks;
        Extracted e = FeatureStore.extract(backbone, featureSpec(), kept, augmentVariants(), cacheRoot, log,
                "features at " + plan.cut() + " (" + blocks + " block" + (blocks == 1 ? "" : "s") + " trained)");
        if (e.kept().size() != kept.size()) {
            throw new VigilException("an image became unreadable while training; train again");
        }
        all = e;
    }

    /** A fresh network for the current plan (pretrained suffix, no head yet) reading features like {@code train}. */
    private TransferNetwork newNetwork(Extracted train, boolean patchHead) {
        int pooledWidth = train.features()[0][0].pooled().length;
        GraphSurgery.Subgraph suffix = plan.hasSuffix() && !patchHead
                ? GraphSurgery.floatSuffix(backbone.graph(), plan.cut(), plan.features())
                : new GraphSurgery.Subgraph(List.of(), Map.of());
        TransferNetwork net = new TransferNetwork(manager, suffix, GraphSurgery.floatName(backbone.graph(),
                plan.cut()), patchHead ? List.of() : plan.suffixTaps(), pooledWidth, plan.pool(),
                heads == null || patchHead ? dataset.classes().size() : heads.width(), options.dropout(),
                plan.random(), options.finetune().bnTrain(), options.seed());
        if (patchHead) {
            net.patchHead(options.lseR());
        }
        return net;
    }

    /**
     * Builds the network afresh (pretrained suffix, new head, standardisation from {@code train}) and trains it. With a
     * validation set: up to {@code epochs} epochs, early stopping on its loss, the best epoch's weights restored.
     * Without one: exactly {@code epochs} epochs.
     */
    private Fit fit(Extracted train, Targets trainLabels, Extracted val, Targets valLabels, int epochs, String label,
            boolean patchHead) {
        network = newNetwork(train, patchHead);
        calibrate(train, train.cutShape(), new Random(options.seed() + 1));
        EpochLoop loop = new EpochLoop(trainLabels);
        try (Progress progress = new Progress(log, label, epochs)) {
            loop.run(train, trainLabels, val, valLabels, 1, epochs, progress);
        }
        if (val != null) {
            network.restore(loop.best);
        }
        return new Fit(loop.history, loop.bestEpoch);
    }

    /** The learning rate of every learnable parameter of {@link #network}, by id. */
    private Map<String, Float> learningRates() {
        Map<String, Float> lr = new java.util.HashMap<>();
        float headLr = options.headLr();
        float backboneLr = headLr * options.backboneLrFactor();
        Map<String, Integer> blocks = network.parameterBlocks(backbone.anatomy());
        network.getParameters().forEach(pair -> {
            Parameter p = pair.getValue();
            Integer back = blocks.get(p.getName());
            lr.put(p.getId(), plan.random() || back == null ? headLr
                    : options.finetune().blockLr(backboneLr, back));
        });
        return lr;
    }

    /**
     * Epochs of one run, across the stages of a progressive schedule: the shuffles, the history and early stopping
     * (the best validation loss, its epoch, stage and weights) carry over from one stage to the next.
     */
    private final class EpochLoop {
        final float[] classWeights;
        /** Per head class weights (multi-task; null for one head). */
        final float[][] headWeights;
        final Random rnd = new Random(options.seed());
        final List<TrainingResult.EpochStats> history = new ArrayList<>();
        double bestLoss = Double.POSITIVE_INFINITY;
        int bestEpoch;
        int bestStage;
        Map<String, float[]> best;

        EpochLoop(Targets train) {
            this.classWeights = train.heads() != null ? null : classWeights(train.labels(), dataset.classes().size());
            this.headWeights = train.heads() == null ? null : heads.classWeights(train.heads());
        }

        /**
         * Trains {@link #network} for epochs {@code from..to} (a fresh optimizer: the network may be new).
         *
         * @return whether early stopping ended the run
         */
        boolean run(Extracted train, Targets trainTargets, Extracted val, Targets valTargets, int from, int to,
                Progress progress) {
            int[] trainLabels = trainTargets.labels();
            if (best == null) {
                best = network.snapshot();
                bestStage = stage;
            }
            long[] cutShape = train.cutShape();
            Set<String> headIds = new HashSet<>(List.of(network.headWeight().getId(), network.headBias().getId()));
            Map<String, Float> rates = learningRates();
            float headLr = options.headLr();
            Optimizer optimizer = Optimizer.adam()
                    .optLearningRateTracker((id, step) -> headIds.contains(id) ? headLr : rates.get(id))
                    .optWeightDecays(0f).optClipGrad(5f).build();
            int epochSamples = Math.max(train.kept().size(), MIN_EPOCH_SAMPLES);
            List<Parameter> learnable = new ArrayList<>();
            network.getParameters().forEach(p -> {
                if (p.getValue().requiresGradient()) {
                    learnable.add(p.getValue());
                }
            });
            ParameterStore ps = new ParameterStore(manager, false);
            for (int epoch = from; epoch <= to; epoch++) {
                checkCancelled();
                long e0 = System.nanoTime();
                int[] order = epochOrder(trainLabels.length, epochSamples, rnd);
                double lossSum = 0;
                for (int start = 0; start < order.length; start += options.batchSize()) {
                    int n = Math.min(options.batchSize(), order.length - start);
                    int[] idx = new int[n];
                    int[] variant = new int[n];
                    for (int i = 0; i < n; i++) {
                        idx[i] = order[start + i];
                        variant[i] = rnd.nextInt(train.features()[0].length);
                    }
                    try (NDManager step = manager.newSubManager()) {
                        NDList in = batch(step, train, idx, variant, cutShape);
                        try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
                            NDArray logits = network.forward(ps, in, true).singletonOrThrow();
                            NDArray loss = headWeights != null
                                    ? multiTaskLoss(logits, pickRows(trainTargets.heads(), idx), headWeights)
                                    : weightedCrossEntropy(logits, step.create(pick(trainLabels, idx)),
                                            classWeights);
                            lossSum += loss.getFloat() * n;
                            if (options.weightDecay() > 0) {
                                loss = loss.add(network.headWeight().getArray().square().sum()
                                        .mul(0.5f * options.weightDecay()));
                            }
                            gc.backward(loss);
                        }
                        for (Parameter p : learnable) {
                            NDArray w = p.getArray();
                            NDArray g = w.getGradient();
                            optimizer.update(p.getId(), w, g);
                            g.subi(g);
                            g.close();
                        }
                    }
                }
                double trainLoss = lossSum / order.length;
                double secs = (System.nanoTime() - e0) / 1e9;
                int blocks = plan.unfreeze();
                if (val == null) {
                    history.add(new TrainingResult.EpochStats(epoch, trainLoss, Double.NaN, Double.NaN, secs,
                            blocks));
                    bestEpoch = epoch;
                    bestStage = stage;
                    progress.status(String.format(Locale.ROOT, "epoch %d loss %.4f", epoch, trainLoss));
                    progress.step(1);
                    continue;
                }
                double[] v = headWeights != null ? evaluateMultiTaskLoss(val, valTargets.heads(), headWeights,
                        cutShape) : evaluateLoss(val, valTargets.labels(), classWeights, cutShape);
                history.add(new TrainingResult.EpochStats(epoch, trainLoss, v[0], v[1], secs, blocks));
                if (v[0] < bestLoss - 1e-6) {
                    bestLoss = v[0];
                    bestEpoch = epoch;
                    bestStage = stage;
                    best = network.snapshot();
                }
                progress.status(String.format(Locale.ROOT, "epoch %d%s loss %.4f val_loss %.4f val_acc %.3f",
                        epoch, options.progressive() ? " (" + blocks + " blocks)" : "", trainLoss, v[0], v[1]));
                progress.step(1);
                if (epoch - bestEpoch >= options.patience()) {
                    return true;
                }
            }
            return false;
        }
    }

    /** Training runs on a thread of its own in the service: interrupting it cancels at the next epoch or image. */
    static void checkCancelled() {
        if (Thread.currentThread().isInterrupted()) {
            throw new VigilException("training cancelled");
        }
    }

    /** Defect scores (1 - P(ok)) of the defective images, then of the good ones. */
    private double[][] defectScores(float[][] probs, int[] labels) {
        List<Double> defect = new ArrayList<>();
        List<Double> ok = new ArrayList<>();
        for (int i = 0; i < labels.length; i++) {
            double s = 1.0 - probs[i][okIndex];
            (labels[i] == okIndex ? ok : defect).add(s);
        }
        return new double[][] {defect.stream().mapToDouble(Double::doubleValue).toArray(),
                ok.stream().mapToDouble(Double::doubleValue).toArray()};
    }

    /**
     * Standardises the head's input: per-feature mean and standard deviation over a sample of the training images and
     * their variants, so taps of different depths and magnitudes start on an equal footing and one weight decay suits
     * every dataset.
     */
    private void calibrate(Extracted train, long[] cutShape, Random rnd) {
        int images = train.kept().size();
        int variants = train.features()[0].length;
        boolean patches = network.isPatchHead();
        // a patch-head sample is a whole grid of cells: a few dozen images give thousands of rows
        int n = Math.min(patches ? PATCH_CALIBRATION_IMAGES : CALIBRATION_SAMPLES, images * variants);
        int chunk = patches ? 8 : 128;
        long rows = 0;
        int[] idx = new int[n];
        int[] variant = new int[n];
        for (int i = 0; i < n; i++) {
            int flat = n == images * variants ? i : rnd.nextInt(images * variants);
            idx[i] = flat % images;
            variant[i] = flat / images;
        }
        double[] sum = null;
        double[] sumSq = null;
        for (int start = 0; start < n; start += chunk) {
            int m = Math.min(chunk, n - start);
            try (NDManager step = manager.newSubManager()) {
                NDList in = batch(step, train, java.util.Arrays.copyOfRange(idx, start, start + m),
                        java.util.Arrays.copyOfRange(variant, start, start + m), cutShape);
                NDArray f = network.features(in.get(0), in.get(1), false);
                if (sum == null) {
                    int width = (int) f.getShape().get(1);
                    network.initHead(width, options.seed());
                    sum = new double[width];
                    sumSq = new double[width];
                }
                rows += f.getShape().get(0);
                float[] s1 = f.sum(new int[] {0}).toFloatArray();
                float[] s2 = f.square().sum(new int[] {0}).toFloatArray();
                for (int j = 0; j < s1.length; j++) {
                    sum[j] += s1[j];
                    sumSq[j] += s2[j];
                }
            }
        }
        float[] mean = new float[sum.length];
        float[] scale = new float[sum.length];
        for (int j = 0; j < sum.length; j++) {
            mean[j] = (float) (sum[j] / rows);
            double var = Math.max(0, sumSq[j] / rows - (double) mean[j] * mean[j]);
            double sd = Math.sqrt(var);
            scale[j] = sd > 1e-6 ? (float) (1 / sd) : 1f;
        }
        network.setStandardisation(mean, scale);
    }

    /**
     * The variants the exported model averages over (test-time augmentation): the geometric ones of
     * {@code --augment}, only the original when TTA is off. Transposes need a square input and are left out otherwise.
     */
    public List<Variant> ttaVariants() {
        if (!options.tta()) {
            return List.of(Variant.ORIGINAL);
        }
        List<Variant> all = augmentVariants().stream().filter(Variant::geometric).toList();
        Preprocessing nativePre = backbone.preprocessing();
        long budget = TTA_PIXEL_BUDGET * nativePre.width() * nativePre.height();
        long pixels = (long) plan.preprocessing().width() * plan.preprocessing().height();
        int fit = (int) Math.max(1, Math.min(all.size(), budget / pixels));
        return all.subList(0, fit);
    }

    /**
     * Test-time augmentation runs the network once per variant on every frame: at most this many native-size inputs'
     * worth of pixels per frame (eight variants at 224x224; one at KolektorSDD's 416x1024), so serving cost stays
     * within a frame budget on a small CPU.
     */
    static final long TTA_PIXEL_BUDGET = 8;

    /**
     * The variants of {@code --augment} this input can take: quarter turns and transposes swap width and height, so
     * a non-square input keeps only the flips and the half turn.
     */
    public List<Variant> augmentVariants() {
        return variants;
    }

    private List<Variant> variantsWithinBudget() {
        boolean square = plan.preprocessing().width() == plan.preprocessing().height();
        List<Variant> all = options.augment().stream().filter(v -> square || !v.swapsSides()).toList();
        if (!plan.patches()) {
            return all;
        }
        long perVariant = 2L * java.util.Arrays.stream(PatchFeatures.layout(backbone.graph(), plan.preprocessing(),
                plan.prefixTaps()).shape()).reduce(1, (a, b) -> a * b);
        long images = Math.max(1, dataset.images().size());
        int fit = (int) Math.max(1, Math.min(all.size(), PATCH_MEMORY_BUDGET / (perVariant * images)));
        if (fit < all.size()) {
            log.printf(Locale.ROOT, "patch features: %d images x %d variants x %.1f MB would pass the %d MB budget;"
                    + " using the variants %s%n", images, all.size(), perVariant / 1048576.0,
                    PATCH_MEMORY_BUDGET >> 20, all.subList(0, fit).stream().map(Variant::id).toList());
        }
        return List.copyOf(all.subList(0, fit));
    }

    /** Validation loss and accuracy on the original images (cheap enough for every epoch). */
    private double[] evaluateLoss(Extracted set, int[] labels, float[] classWeights, long[] cutShape) {
        float[][] probs = probabilities(set, cutShape, 1);
        double loss = 0;
        double weight = 0;
        int correct = 0;
        for (int i = 0; i < labels.length; i++) {
            double w = classWeights[labels[i]];
            loss -= w * Math.log(Math.max(probs[i][labels[i]], 1e-12));
            weight += w;
            correct += Metrics.argmax(probs[i]) == labels[i] ? 1 : 0;
        }
        return new double[] {loss / weight, correct / (double) labels.length};
    }

    /**
     * Class probabilities of the DJL model for every image of {@code set}: the mean over the set's variants, which
     * are the {@link #ttaVariants()} for the validation set (the exported graph computes the same mean).
     */
    public float[][] probabilities(Extracted set, long[] cutShape) {
        return probabilities(set, cutShape, set.kept().isEmpty() ? 1 : set.features()[0].length);
    }

    /** Mean class probabilities (of the verdict head) over the first {@code variants} variants of each image. */
    private float[][] probabilities(Extracted set, long[] cutShape, int variants) {
        return headProbabilities(set, cutShape, variants)[verdictHead()];
    }

    /**
     * Every head's class probabilities for every image of {@code set} (the mean over the set's variants, as
     * {@link #probabilities(Extracted, long[])}): {@code [head][image][class]}; one head for a single classifier.
     */
    public float[][][] headProbabilities(Extracted set, long[] cutShape) {
        return headProbabilities(set, cutShape, set.kept().isEmpty() ? 1 : set.features()[0].length);
    }

    private float[][][] headProbabilities(Extracted set, long[] cutShape, int variants) {
        int count = set.kept().size();
        int headCount = headCount();
        float[][][] out = new float[headCount][count][];
        ParameterStore ps = new ParameterStore(manager, false);
        for (int start = 0; start < count; start += 64) {
            int n = Math.min(64, count - start);
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) {
                idx[i] = start + i;
            }
            for (int v = 0; v < variants; v++) {
                int[] variant = new int[n];
                java.util.Arrays.fill(variant, v);
                try (NDManager step = manager.newSubManager()) {
                    NDList in = batch(step, set, idx, variant, cutShape);
                    NDArray logits = network.forward(ps, in, false).singletonOrThrow();
                    for (int h = 0; h < headCount; h++) {
                        NDArray p = headLogits(logits, h).softmax(1);
                        float[] flat = p.toFloatArray();
                        int k = (int) p.getShape().get(1);
                        for (int i = 0; i < n; i++) {
                            float[] acc = out[h][start + i] == null ? (out[h][start + i] = new float[k])
                                    : out[h][start + i];
                            for (int j = 0; j < k; j++) {
                                acc[j] += flat[i * k + j] / variants;
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Head {@code h}'s slice of the network's logits (all of them for a single classifier). */
    private NDArray headLogits(NDArray logits, int h) {
        if (heads == null) {
            return logits;
        }
        return logits.get(new ai.djl.ndarray.index.NDIndex(":, {}:{}", heads.offset(h), heads.offset(h) + heads.size(h)));
    }

    /** The heads of this multi-task run; null for a single classifier. */
    public Heads heads() {
        return heads;
    }

    /** Heads the network has (1 for a single classifier). */
    private int headCount() {
        return heads == null ? 1 : heads.count();
    }

    /** The index of the verdict head among {@link #headCount()}. */
    private int verdictHead() {
        return heads == null ? 0 : heads.verdict();
    }

    /**
     * Per head (multi-task), its figures over the scored images labelled for it: out of fold where cross-validated,
     * else the held-out split; null for a single classifier.
     */
    public Map<String, Metrics> headMetrics() {
        return headMetrics;
    }

    private Map<String, Metrics> headMetrics(float[][][] scored, int[] scoredIdx) {
        Map<String, Metrics> m = new LinkedHashMap<>();
        for (int h = 0; h < heads.count(); h++) {
            List<Integer> known = new ArrayList<>();
            for (int i = 0; i < scoredIdx.length; i++) {
                if (allHeads[scoredIdx[i]][h] >= 0) {
                    known.add(i);
                }
            }
            int[] truth = new int[known.size()];
            float[][] probs = new float[known.size()][];
            for (int j = 0; j < truth.length; j++) {
                truth[j] = allHeads[scoredIdx[known.get(j)]][h];
                probs[j] = scored[h][known.get(j)];
            }
            m.put(heads.names().get(h), Metrics.of(heads.classes().get(h), truth, probs, -1, 0.5));
        }
        return m;
    }

    /** The class labels (verdict, and per head when multi-task) of the images {@code idx} of {@link #all}. */
    private Targets targets(int[] idx) {
        return new Targets(pick(allLabels, idx), allHeads == null ? null : pickRows(allHeads, idx));
    }

    /**
     * What a run learns from: each image's class (the verdict head's, -1 where unknown) and, for a multi-task run,
     * its class per head.
     */
    private record Targets(int[] labels, int[][] heads) {}

    /**
     * The images whose verdict is known: the folds need every verdict class in each of them, while images without a
     * verdict (multi-task) only go along.
     */
    private static int[] knownVerdicts(int[] labels) {
        return java.util.stream.IntStream.range(0, labels.length).filter(i -> labels[i] >= 0).toArray();
    }

    /** Stratum per image for the splits: its verdict class, or one past the last class when it has none. */
    private int[] strata(int[] labels) {
        int k = dataset.classes().size();
        return java.util.Arrays.stream(labels).map(l -> l < 0 ? k : l).toArray();
    }

    private List<String> strataNames(int[] labels) {
        List<String> names = new ArrayList<>(dataset.classes());
        if (java.util.Arrays.stream(labels).anyMatch(l -> l < 0)) {
            names.add("(no " + (heads == null ? "class" : heads.verdictName()) + ")");
        }
        return names;
    }

    /**
     * The loss of a multi-task batch: per head, the class-weighted cross-entropy of its softmax over the images whose
     * class is known for it (the others are masked out), summed over the heads.
     */
    private NDArray multiTaskLoss(NDArray logits, int[][] y, float[][] weights) {
        NDManager m = logits.getManager();
        int n = y.length;
        NDArray total = null;
        for (int h = 0; h < heads.count(); h++) {
            int k = heads.size(h);
            float[] target = new float[n * k];
            double weight = 0;
            for (int i = 0; i < n; i++) {
                int c = y[i][h];
                if (c >= 0) {
                    target[i * k + c] = weights[h][c];
                    weight += weights[h][c];
                }
            }
            if (weight == 0) {
                continue;
            }
            NDArray term = headLogits(logits, h).logSoftmax(1).mul(m.create(target, new Shape(n, k))).sum().neg()
                    .div((float) weight);
            total = total == null ? term : total.add(term);
        }
        return total != null ? total : logits.sum().mul(0f);
    }

    /** Validation loss (summed over the heads) and the verdict head's accuracy, over the known labels. */
    private double[] evaluateMultiTaskLoss(Extracted set, int[][] y, float[][] weights, long[] cutShape) {
        float[][][] probs = headProbabilities(set, cutShape, 1);
        double loss = 0;
        int correct = 0;
        int verdicts = 0;
        for (int h = 0; h < heads.count(); h++) {
            double sum = 0;
            double weight = 0;
            for (int i = 0; i < y.length; i++) {
                int c = y[i][h];
                if (c < 0) {
                    continue;
                }
                sum -= weights[h][c] * Math.log(Math.max(probs[h][i][c], 1e-12));
                weight += weights[h][c];
                if (h == heads.verdict()) {
                    verdicts++;
                    correct += Metrics.argmax(probs[h][i]) == c ? 1 : 0;
                }
            }
            loss += weight == 0 ? 0 : sum / weight;
        }
        return new double[] {loss, verdicts == 0 ? Double.NaN : correct / (double) verdicts};
    }

    private static float[][] pickRows(float[][] a, int[] idx) {
        float[][] out = new float[idx.length][];
        for (int i = 0; i < idx.length; i++) {
            out[i] = a[idx[i]];
        }
        return out;
    }

    private static int[][] pickRows(int[][] a, int[] idx) {
        int[][] out = new int[idx.length][];
        for (int i = 0; i < idx.length; i++) {
            out[i] = a[idx[i]];
        }
        return out;
    }

    /**
     * The defect map ({@code 1 - P(ok)} of every cell, row-major) the map head gives each image of {@code set} (patch
     * features, variant 0).
     */
    public float[][] defectMaps(Extracted set) {
        if (mapNetwork == null) {
            throw new IllegalStateException("this run trained no defect-map head");
        }
        TransferNetwork main = network;
        network = mapNetwork;
        try {
            int count = set.kept().size();
            float[][] out = new float[count][];
            long[] shape = set.cutShape();
            for (int start = 0; start < count; start += 16) {
                int n = Math.min(16, count - start);
                int[] idx = new int[n];
                for (int i = 0; i < n; i++) {
                    idx[i] = start + i;
                }
                try (NDManager step = manager.newSubManager()) {
                    NDList in = batch(step, set, idx, new int[n], shape);
                    float[] flat = network.defectMap(in.get(0), okIndex).toFloatArray();
                    int cells = flat.length / n;
                    for (int i = 0; i < n; i++) {
                        out[start + i] = java.util.Arrays.copyOfRange(flat, i * cells, (i + 1) * cells);
                    }
                }
            }
            return out;
        } finally {
            network = main;
        }
    }

    private DriftReference driftReference;

    /** The drift reference of the trained network ({@link DriftReference}); null for the patch head. */
    public DriftReference driftReference() {
        if (driftReference == null && !plan.patches() && all != null && result != null) {
            // over the images whose verdict is known (a multi-task image may have none)
            int[] known = knownVerdicts(allLabels);
            driftReference = DriftReference.measure(pooledFeatures(all.select(known, new int[] {0})),
                    pick(allLabels, known), dataset.classes().size(), pick(groups, known), options.seed());
        }
        return driftReference;
    }

    private dev.vigil.core.model.Manifest.InputFigures inputReference;

    /**
     * The training images' per-channel input figures ({@link InputReference}); null for the patch head and before
     * training.
     */
    public dev.vigil.core.model.Manifest.InputFigures inputReference() {
        if (inputReference == null && !plan.patches() && labelledImages != null && result != null) {
            inputReference = InputReference.measure(labelledImages, allLabels, dataset.classes().size(),
                    plan.preprocessing(), options.seed());
        }
        return inputReference;
    }

    /** The head-input features ({@code vigil_features}, before standardisation) of variant 0 of every image of set. */
    public float[][] pooledFeatures(Extracted set) {
        int count = set.kept().size();
        float[][] out = new float[count][];
        for (int start = 0; start < count; start += 64) {
            int n = Math.min(64, count - start);
            int[] idx = java.util.stream.IntStream.range(start, start + n).toArray();
            try (NDManager step = manager.newSubManager()) {
                NDList in = batch(step, set, idx, new int[n], set.cutShape());
                NDArray f = network.features(in.get(0), in.get(1), false);
                int d = (int) f.getShape().get(1);
                float[] flat = f.toFloatArray();
                for (int i = 0; i < n; i++) {
                    out[start + i] = java.util.Arrays.copyOfRange(flat, i * d, (i + 1) * d);
                }
            }
        }
        return out;
    }

    /** The network that scores every cell (the patch head; for a pooled model, the one trained for its map). */
    public TransferNetwork mapNetwork() {
        return mapNetwork;
    }

    /** Whether this run trains a defect map: a good-part class and every tap in the frozen prefix. */
    public boolean trainsDefectMap() {
        return okIndex >= 0 && heads == null && !plan.random() && (plan.patches() || (!plan.hasSuffix()
                && plan.suffixTaps().isEmpty() && !plan.prefixTaps().isEmpty()));
    }

    /** The feature spec of the patch features (the map head's input). */
    public FeatureSpec patchSpec() {
        return new FeatureSpec(backboneKey(), plan.preprocessing(), PatchFeatures.TENSOR, true, plan.prefixTaps(),
                plan.pool());
    }

    /**
     * Features of {@code images} computed afresh at full precision (not from the cache, whose patch maps are half
     * precision) for the test-time-augmentation variants: the reference the exported graph is verified against.
     */
    public Extracted referenceFeatures(List<LabelledImage> images) {
        return referenceFeatures(images, featureSpec(), ttaVariants());
    }

    /** Features of {@code spec} for {@code images} and {@code tta} variants, at full precision. */
    public Extracted referenceFeatures(List<LabelledImage> images, FeatureSpec spec, List<Variant> tta) {
        Features[][] f = new Features[images.size()][tta.size()];
        int per = plan.preprocessing().valuesPerImage();
        long[] shape = null;
        try (dev.vigil.trainer.features.FeatureExtractor fx = new dev.vigil.trainer.features.FeatureExtractor(
                backbone, spec, false)) {
            for (int v = 0; v < tta.size(); v++) {
                float[] batch = new float[images.size() * per];
                for (int i = 0; i < images.size(); i++) {
                    LabelledImage img = images.get(i);
                    float[] x = dev.vigil.core.image.ImageIo.preprocess(dev.vigil.core.image.ImageIo.read(
                            img.path()), plan.preprocessing(), tta.get(v), img.path().toString());
                    System.arraycopy(x, 0, batch, i * per, per);
                }
                List<Features> out = new ArrayList<>();
                for (int start = 0; start < images.size(); start += 8) {
                    int n = Math.min(8, images.size() - start);
                    out.addAll(fx.run(java.util.Arrays.copyOfRange(batch, start * per, (start + n) * per), n));
                }
                for (int i = 0; i < images.size(); i++) {
                    f[i][v] = out.get(i);
                }
            }
            shape = fx.cutShape();
        }
        return new Extracted(images, java.util.Collections.nCopies(images.size(), ""), f, 0, 0,
                new double[tta.size()], spec.needsCutMap() ? shape : cutShape());
    }

    public long[] cutShape() {
        return validation == null ? null : validation.cutShape();
    }

    private NDList batch(NDManager m, Extracted set, int[] idx, int[] variant, long[] cutShape) {
        int n = idx.length;
        Features first = set.features()[idx[0]][variant[0]];
        int cutLen = first.cutLength();
        int pooledLen = first.pooled().length;
        float[] cut = new float[Math.max(1, n * cutLen)];
        float[] pooled = new float[Math.max(1, n * pooledLen)];
        for (int i = 0; i < n; i++) {
            Features f = set.features()[idx[i]][variant[i]];
            f.copyCut(cut, i * cutLen);
            System.arraycopy(f.pooled(), 0, pooled, i * pooledLen, pooledLen);
        }
        NDArray cutArray = cutLen == 0 ? m.zeros(new Shape(n, 1)) : network.isPatchHead()
                // patch maps are cell-major: (B, h*w, C)
                ? m.create(cut, new Shape(n, cutShape[1] * cutShape[2], cutShape[0]))
                : m.create(cut, new Shape(n, cutShape[0], cutShape[1], cutShape[2]));
        NDArray pooledArray = pooledLen == 0 ? m.zeros(new Shape(n, 0)) : m.create(pooled, new Shape(n, pooledLen));
        return new NDList(cutArray, pooledArray);
    }

    private static NDArray weightedCrossEntropy(NDArray logits, NDArray labels, float[] classWeights) {
        NDManager m = logits.getManager();
        int k = classWeights.length;
        NDArray oneHot = labels.oneHot(k);
        NDArray w = oneHot.mul(m.create(classWeights)).sum(new int[] {1});
        NDArray picked = logits.logSoftmax(1).mul(oneHot).sum(new int[] {1});
        return picked.mul(w).sum().neg().div(w.sum());
    }

    private static float[] classWeights(int[] labels, int k) {
        int[] count = new int[k];
        for (int l : labels) {
            count[l]++;
        }
        float[] w = new float[k];
        for (int c = 0; c < k; c++) {
            w[c] = count[c] == 0 ? 0f : labels.length / (float) (k * count[c]);
        }
        return w;
    }

    /** At least {@code samples} indices: whole shuffled passes over {@code n} images, the last one cut short. */
    private static int[] epochOrder(int n, int samples, Random rnd) {
        int[] out = new int[Math.max(n, samples)];
        for (int filled = 0; filled < out.length; filled += n) {
            int[] pass = shuffled(n, rnd);
            System.arraycopy(pass, 0, out, filled, Math.min(n, out.length - filled));
        }
        return out;
    }

    private static int[] shuffled(int n, Random rnd) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }

    private static int[] pick(int[] a, int[] idx) {
        int[] out = new int[idx.length];
        for (int i = 0; i < idx.length; i++) {
            out[i] = a[idx[i]];
        }
        return out;
    }

    private static double sum(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v;
        }
        return s;
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> l = new ArrayList<>(a);
        l.addAll(b);
        return l;
    }

    private String datasetHash(Extracted all) {
        TreeSet<String> entries = new TreeSet<>();
        for (Extracted e : List.of(all)) {
            for (int i = 0; i < e.kept().size(); i++) {
                LabelledImage img = e.kept().get(i);
                String cls = heads != null ? java.util.Arrays.toString(heads.labelsOf(img.path()))
                        : dataset.classes().get(img.label());
                entries.add(cls + "/" + e.sha().get(i));
            }
        }
        return Hashing.sha256(String.join("\n", entries).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void close() {
        manager.close();
    }
}
