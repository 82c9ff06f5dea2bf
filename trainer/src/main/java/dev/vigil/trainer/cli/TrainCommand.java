package dev.vigil.trainer.cli;

import dev.vigil.trainer.anomaly.AnomalyModel;
import dev.vigil.trainer.anomaly.AnomalyOptions;
import dev.vigil.trainer.anomaly.AnomalyTrainer;
import dev.vigil.trainer.anomaly.Calibration;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.backbone.Tiling;
import dev.vigil.trainer.combined.CombinedModel;
import dev.vigil.trainer.combined.PackageTraining;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.features.PoolMode;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.model.PackageWriter;
import dev.vigil.trainer.train.HeadKind;
import dev.vigil.trainer.train.InputGeometry;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TrainingResult;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vigil train}: transfer learning from a backbone to a model package. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Fine-tune the last blocks of a pretrained backbone on DIR (one folder per class) and write a"
                + " model package. With --anomaly, or when DIR holds only the good folder, a model from good parts"
                + " alone.")
public final class TrainCommand implements Callable<Integer> {
    private static final TrainOptions D = TrainOptions.defaults();

    @Option(names = "--data", paramLabel = "DIR", description = "dataset: one sub-folder per class (or --labels)")
    Path data;

    @Option(names = "--labels", paramLabel = "FILE.csv", description = "multi-task: one head per column of a CSV"
            + " with the header file,<head>,<head>... (file absolute or relative to the CSV's folder; an empty cell"
            + " = unknown for that head, left out of its loss); every head trains on one shared suffix and the"
            + " model has one probabilities output per head (instead of --data)")
    Path labels;

    @Option(names = "--verdict-head", paramLabel = "NAME", description = "with --labels: the head the service"
            + " decides on (default: the head named verdict, or the only one); --ok-label names its good class")
    String verdictHead;

    @Option(names = "--backbone", required = true, paramLabel = "NAME|FILE",
            description = "catalog name (see 'vigil backbones') or path of an ONNX file")
    String backbone;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "where to write the model package")
    Path out;

    @Option(names = "--unfreeze", paramLabel = "N|all", description = "backbone blocks to train (0 = new head only;"
            + " all = every layer, earlier blocks at lower rates; default 1, or 0 for inputs larger than the"
            + " backbone's own and for the patch head; with --schedule progressive: the most it unfreezes, default"
            + " all)")
    String unfreeze;

    @Option(names = "--lr-decay", paramLabel = "F", description = "discriminative learning rates: each unfrozen"
            + " block learns at F times the rate of the block after it (default ${DEFAULT-VALUE})")
    float lrDecay = D.finetune().lrDecay();

    @Option(names = "--bn", paramLabel = "frozen|train", description = "BatchNorm statistics in the trained"
            + " blocks: kept as pretrained (frozen, default) or re-estimated from each batch (train)")
    String bn = "frozen";

    @Option(names = "--schedule", paramLabel = "constant|progressive[:E]", description = "constant: every unfrozen"
            + " block trains from the start (default); progressive: the head first, then one more block every E"
            + " epochs (default " + dev.vigil.trainer.train.Finetune.DEFAULT_EPOCHS_PER_STAGE + "), early stopping"
            + " over the whole schedule")
    String schedule = "constant";

    @Option(names = "--lse-r", paramLabel = "R", description = "patch head: sharpness of the log-sum-exp pooling of"
            + " the cells' scores (small = mean, large = max; default ${DEFAULT-VALUE})")
    float lseR = TrainOptions.DEFAULT_LSE_R;

    @Option(names = "--epochs", paramLabel = "E", description = "most epochs (early stopping; default ${DEFAULT-VALUE})")
    int epochs = D.epochs();

    @Option(names = "--seed", paramLabel = "S", description = "random seed (default ${DEFAULT-VALUE})")
    long seed = D.seed();

    @Option(names = "--init", paramLabel = "pretrained|random",
            description = "pretrained (transfer) or random (same architecture from scratch; default ${DEFAULT-VALUE})")
    String init = "pretrained";

    @Option(names = "--size", paramLabel = "PX", description = "square input of PX x PX pixels")
    int size;

    @Option(names = "--input", paramLabel = "WxH", description = "input width and height, e.g. 512x1280 (images"
            + " keep their aspect ratio: letterboxed)")
    String input;

    @Option(names = "--long-side", paramLabel = "PX", description = "input whose longest side is PX, shaped like the"
            + " training images")
    int longSide;

    @Option(names = "--tiles", paramLabel = "CxR", description = "cut the input into C x R overlapping tiles that run"
            + " as one batch, their feature maps stitched back together (in training and in the exported graph): for"
            + " frames far larger than one forward pass should take; needs --unfreeze 0")
    String tiles;

    @Option(names = "--tile-overlap", paramLabel = "PX", description = "pixels neighbouring tiles share, a multiple"
            + " of 32 (default ${DEFAULT-VALUE})")
    int tileOverlap = Tiling.DEFAULT_OVERLAP;

    @Option(names = "--head", paramLabel = "auto|pooled|patch", description = "pooled: pooled feature vectors;"
            + " patch: a score for every patch, pooled by log-sum-exp (multiple-instance learning); both give a"
            + " defect map at --unfreeze 0 (default auto: pooled, which measured better)")
    String head = "auto";

    @Option(names = "--taps", split = ",", paramLabel = "B",
            description = "blocks whose pooled features feed the head, counted back from the final features"
                    + " (default 0,4: the final features and those 4 blocks earlier; with --anomaly 6,4)")
    List<Integer> taps;

    @Option(names = "--anomaly", description = "a model from good parts alone (PatchCore): a memory of the good"
            + " images' patches, a part scored by its least familiar patch; only the good folder is learnt from."
            + " Automatic when DIR holds only the good folder")
    boolean anomaly;

    @Option(names = "--combine", paramLabel = "auto|on|off", description = "with a good folder and defect folders,"
            + " also build a memory of the good parts' patches and join its score to the supervised head's (fitted"
            + " on out-of-fold scores), so a defect type nobody labelled is still rejected; auto = on when the good"
            + " folder has at least " + AnomalyOptions.MIN_GOOD_IMAGES + " images (default ${DEFAULT-VALUE})")
    String combine = "auto";

    @Option(names = "--memory-size", paramLabel = "N", description = "anomaly: most patch vectors the memory keeps"
            + " (default ${DEFAULT-VALUE})")
    int memorySize = AnomalyOptions.defaults().memorySize();

    @Option(names = "--coreset-fraction", paramLabel = "F", description = "anomaly: share of all good patches the"
            + " memory keeps, up to --memory-size (default ${DEFAULT-VALUE})")
    double coresetFraction = AnomalyOptions.defaults().coresetFraction();

    @Option(names = "--neighbourhood", paramLabel = "N", description = "anomaly: each patch vector is averaged over"
            + " N x N grid cells (default ${DEFAULT-VALUE})")
    int neighbourhood = AnomalyOptions.defaults().neighbourhood();

    @Option(names = "--target-frr", paramLabel = "F", description = "anomaly: share of good parts the threshold may"
            + " reject, measured out of fold (default ${DEFAULT-VALUE})")
    double targetFrr = AnomalyOptions.defaults().targetFalseRejectRate();

    @Option(names = "--pool", paramLabel = "avg|max|avgmax|avgstd", description = "feature pooling (default avgmax)")
    String pool = D.pool().name().toLowerCase(Locale.ROOT);

    @Option(names = "--augment", paramLabel = "LIST", description = "cached image variants: hflip, vflip, rot90,"
            + " rot180, rot270, transpose, transverse, brighter, darker, or none (default: all eight flips and turns)")
    String augment = Variant.DIHEDRAL;

    @Option(names = "--no-tta", description = "no test-time augmentation (by default the model averages over the"
            + " flips and turns of --augment, at about 8x the inference cost)")
    boolean noTta;

    @Option(names = "--weight-decay", paramLabel = "L2", description = "L2 penalty on the new head"
            + " (default ${DEFAULT-VALUE})")
    float weightDecay = D.weightDecay();

    @Option(names = "--dropout", paramLabel = "P", description = "dropout on the head's input (default ${DEFAULT-VALUE})")
    float dropout = D.dropout();

    @Option(names = "--lr", paramLabel = "LR", description = "head learning rate (default ${DEFAULT-VALUE})")
    float lr = D.headLr();

    @Option(names = "--backbone-lr-factor", paramLabel = "F",
            description = "unfrozen layers learn at lr*F (default ${DEFAULT-VALUE})")
    float backboneLrFactor = D.backboneLrFactor();

    @Option(names = "--batch-size", paramLabel = "B", description = "default ${DEFAULT-VALUE}")
    int batchSize = D.batchSize();

    @Option(names = "--val-fraction", paramLabel = "F", description = "validation share per class"
            + " (default ${DEFAULT-VALUE})")
    double valFraction = D.validationFraction();

    @Option(names = "--target-recall", paramLabel = "R", description = "defect recall of the operating point"
            + " (default ${DEFAULT-VALUE})")
    double targetRecall = D.targetRecall();

    @Option(names = "--ok-label", paramLabel = "CLASS", description = "the good-part class (default: ok, good,"
            + " pass or normal if present)")
    String okLabel;

    @Option(names = "--cache", paramLabel = "DIR", description = "feature cache (default ~/.cache/vigil/features)")
    Path cache;

    @Option(names = "--model-cache", paramLabel = "DIR", description = "where catalog backbones are kept"
            + " (default $VIGIL_MODEL_CACHE or ~/.cache/vigil/models)")
    Path modelCache;

    @Option(names = "--no-refit", description = "keep the model trained without the validation images (by default,"
            + " once early stopping has chosen the epochs, the model is trained again on every image)")
    boolean noRefit;

    @Option(names = "--folds", paramLabel = "K", description = "cross-validation folds whose out-of-fold scores over"
            + " every labelled image give the operating point and the validation figures (anomaly models: the"
            + " good images' scores; 0 = the held-out split alone; default ${DEFAULT-VALUE})")
    int folds = D.folds();

    @Option(names = "--learning-curve", paramLabel = "on|off", description = "with cross-validation: each fold"
            + " also trains on 25%, 50% and 75% of its training images, and report.json says how the figures grow"
            + " with the labels and which class needs more (about 3x the folds' training time; default on when"
            + " --folds is 2 or more)")
    String learningCurve;

    @Option(names = "--group-by", paramLabel = "REGEX", description = "the first capturing group of REGEX in a file"
            + " name names the part (e.g. '^(part\\d+)_'): no part is ever on both sides of a split (default:"
            + " near-duplicate images are grouped automatically)")
    String groupBy;

    @Option(names = "--progress", paramLabel = "text|json", description = "progress as text for a person (default)"
            + " or as one JSON object a line for a program (on-device training reads it)")
    String progress = "text";

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        PrintStream err = System.err;
        dev.vigil.trainer.util.Progress.mode(progress, "train");
        if (!init.equals("pretrained") && !init.equals("random")) {
            throw new dev.vigil.core.VigilException("--init must be pretrained or random, found '" + init + "'");
        }
        int unfreezeBlocks = parseUnfreeze(unfreeze);
        if (learningCurveAskedFor() && folds == 0) {
            throw new dev.vigil.core.VigilException("--learning-curve on trains on parts of each cross-validation"
                    + " fold's training images, but --folds 0 turns cross-validation off: give --folds 2 or more,"
                    + " or leave --learning-curve out");
        }
        dev.vigil.trainer.train.Finetune finetune = new dev.vigil.trainer.train.Finetune(lrDecay,
                dev.vigil.trainer.train.Finetune.parseBn(bn), dev.vigil.trainer.train.Finetune.parseSchedule(schedule));
        if ((data == null) == (labels == null)) {
            throw new dev.vigil.core.VigilException("give either --data DIR (one sub-folder per class) or --labels"
                    + " FILE.csv (one column per head), not " + (data == null ? "neither" : "both"));
        }
        if (labels != null) {
            return trainMultiTask(unfreezeBlocks, finetune);
        }
        if (verdictHead != null) {
            throw new dev.vigil.core.VigilException("--verdict-head names a column of --labels; without --labels"
                    + " there is one head");
        }
        ImageDataset ds = ImageDataset.scan(data, 2);
        boolean onlyGood = ds.classes().size() == 1 && ds.okIndex(okLabel) == 0;
        PackageTraining.Kind kind = PackageTraining.kind(ds, okLabel, anomaly, PackageTraining.Combine.parse(combine),
                init.equals("random"));
        if (kind == PackageTraining.Kind.ANOMALY) {
            if (learningCurveAskedFor()) {
                throw new dev.vigil.core.VigilException("--learning-curve on is for a classifier learnt from labelled"
                        + " classes; an anomaly model learns from good parts alone and has no learning curve: leave"
                        + " --learning-curve out");
            }
            return trainAnomaly(ds, onlyGood && !anomaly);
        }
        TrainOptions o = options(unfreezeBlocks, finetune);
        AnomalyOptions memory = anomalyOptions(AnomalyOptions.DEFAULT_TAPS, Math.max(2, folds));
        PackageWriter.requireEmpty(out);
        Backbone bb = resolveBackbone(err);
        err.printf(Locale.ROOT, "dataset %s: %d images in %d classes %s%s%n", data, ds.images().size(),
                ds.classes().size(), ds.classes(), ds.ignoredFiles() > 0 ? " (" + ds.ignoredFiles()
                        + " non-image files ignored)" : "");
        Path cacheDir = featureCache();
        PackageTraining.Built built = PackageTraining.train(kind, bb, ds, o, memory, cacheDir, out, err);
        summary(System.out, built.supervised(), built.pkg());
        if (built.combined() != null) {
            combinedSummary(System.out, built.combined());
        }
        return 0;
    }

    private TrainOptions options(int unfreezeBlocks, dev.vigil.trainer.train.Finetune finetune) {
        return new TrainOptions(unfreezeBlocks, epochs, D.patience(), batchSize, lr,
                backboneLrFactor, weightDecay, dropout, valFraction, seed, init.equals("random"),
                geometry(), taps != null ? taps : D.taps(), PoolMode.parse(pool),
                Variant.parseList(augment), !noTta, targetRecall, okLabel, !noRefit, headKind(head), lseR, folds,
                groupBy, finetune, learningCurve == null || TrainOptions.parseLearningCurve(learningCurve));
    }

    /** {@code --learning-curve on} given explicitly (a bad value is an error here). */
    private boolean learningCurveAskedFor() {
        return learningCurve != null && TrainOptions.parseLearningCurve(learningCurve);
    }

    /** {@code --labels}: one shared suffix, one head per column; the package decides on the verdict head. */
    private int trainMultiTask(int unfreezeBlocks, dev.vigil.trainer.train.Finetune finetune) throws Exception {
        PrintStream err = System.err;
        if (anomaly) {
            throw new dev.vigil.core.VigilException("--anomaly learns from good parts alone; it does not take --labels");
        }
        if (learningCurveAskedFor()) {
            throw new dev.vigil.core.VigilException("--learning-curve on is computed for a classifier from class"
                    + " folders (--data); a multi-task model (--labels) has none: leave --learning-curve out");
        }
        if (!combine.equals("auto") && !combine.equals("off")) {
            throw new dev.vigil.core.VigilException("--combine on does not go with --labels: a multi-task model has"
                    + " no memory of good parts (leave --combine out)");
        }
        dev.vigil.trainer.data.LabelTable table = dev.vigil.trainer.data.LabelTable.read(labels);
        dev.vigil.trainer.train.Heads heads = dev.vigil.trainer.train.Heads.of(table, verdictHead);
        ImageDataset ds = heads.dataset(table);
        TrainOptions o = options(unfreezeBlocks, finetune);
        PackageWriter.requireEmpty(out);
        Backbone bb = resolveBackbone(err);
        err.printf(Locale.ROOT, "labels %s: %d images, %d heads:%n", labels, table.rows().size(), heads.count());
        for (int h = 0; h < heads.count(); h++) {
            err.printf(Locale.ROOT, "  %s%s: %d labelled, classes %s%n", heads.names().get(h),
                    h == heads.verdict() ? " (verdict)" : "", table.labelled(h), heads.classes().get(h));
        }
        Path cacheDir = featureCache();
        PackageTraining.Built built = PackageTraining.trainMultiTask(bb, ds, heads, o, cacheDir, out, err);
        summary(System.out, built.supervised(), built.pkg());
        var perHead = built.pkg().manifest().metrics().get("heads");
        if (perHead instanceof java.util.Map<?, ?> m) {
            m.forEach((name, v) -> System.out.printf(Locale.ROOT, "  head %s: %s%n", name, v));
        }
        return 0;
    }

    /** The backbone named by {@code --backbone} (downloaded into the model cache when it is a catalog name). */
    private Backbone resolveBackbone(PrintStream err) {
        return new BackboneResolver(modelCache != null ? modelCache : BackboneResolver.defaultCache(), err::println)
                .resolve(backbone);
    }

    /** {@code --cache}, or the default feature cache. */
    private Path featureCache() {
        return cache != null ? cache : Path.of(System.getProperty("user.home"), ".cache", "vigil", "features");
    }

    /** {@code --unfreeze}: a number of blocks, {@code all}, or nothing (-1, automatic). */
    static int parseUnfreeze(String v) {
        if (v == null) {
            return -1;
        }
        if (v.trim().equalsIgnoreCase("all")) {
            return TrainOptions.UNFREEZE_ALL;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new dev.vigil.core.VigilException("--unfreeze must be a number of blocks (0 or more) or all, found '"
                + v + "'");
    }

    /** The memory's options from the command line, with these taps and folds. */
    private AnomalyOptions anomalyOptions(List<Integer> memoryTaps, int memoryFolds) {
        return new AnomalyOptions(memoryTaps, geometry(), neighbourhood, memorySize,
                coresetFraction, targetFrr, memoryFolds, groupBy, okLabel, seed);
    }

    static void combinedSummary(PrintStream out, CombinedModel m) {
        var f = m.figures();
        var op = m.operatingPoint();
        var c = m.calibration();
        out.printf(Locale.ROOT, "  combined with a memory of %d good patches: %s%n", m.anomaly().memory().size(),
                m.combination());
        out.printf(Locale.ROOT, "  out of fold over %d images (%d defects): AUROC supervised %.4f, anomaly %.4f,"
                + " combined %.4f%n", f.images(), f.defects(), f.supervisedAuroc(), f.anomalyAuroc(),
                f.combinedAuroc());
        out.printf(Locale.ROOT, "  package operating point: defect threshold %.4f -> defect recall %.4f (95%% lower"
                + " bound %.4f), false rejects %.4f; the novelty guard adds %d false rejects, %d catches%n",
                op.defectThreshold(), op.validationRecall(), c.recall() == null ? Double.NaN : c.recall().lower95(),
                op.validationFalseRejectRate(), f.guardFalseRejects(), f.guardCatches());
        if (c.warning() != null) {
            out.println("  warning: " + c.warning());
        }
    }

    /** {@code --anomaly}: a memory of good patches, calibrated out of fold, written as a package. */
    private int trainAnomaly(ImageDataset ds, boolean automatic) throws Exception {
        PrintStream err = System.err;
        AnomalyOptions o = anomalyOptions(taps != null ? taps : AnomalyOptions.DEFAULT_TAPS, folds);
        AnomalyTrainer.okIndex(ds, okLabel);
        PackageWriter.requireEmpty(out);
        if (automatic) {
            err.printf(Locale.ROOT, "dataset %s holds only good images ('%s'): building a model from good parts"
                    + " alone (as --anomaly does)%n", data, ds.classes().get(0));
        }
        Backbone bb = resolveBackbone(err);
        PackageTraining.Built built = PackageTraining.train(PackageTraining.Kind.ANOMALY, bb, ds, null, o, null, out,
                err);
        anomalySummary(System.out, built.anomaly(), built.pkg());
        return 0;
    }

    static void anomalySummary(PrintStream out, AnomalyModel m, ModelPackage pkg) {
        AnomalyModel.Summary s = m.summary();
        Calibration c = m.calibration();
        out.printf(Locale.ROOT, "model package %s (id %s)%n", pkg.dir(), pkg.manifest().id());
        out.printf(Locale.ROOT, "  anomaly model: %d good images of '%s', %d memory rows of %d values (from %d"
                + " candidates of %d patches), %dx%d patches per image, taps %s%n", s.goodImages(), m.okLabel(),
                m.memory().size(), m.memory().channels(), s.candidates(), (long) s.goodImages() * s.patchesPerImage(),
                m.plan().layout().gridWidth(), m.plan().layout().gridHeight(), m.plan().tapBlocks());
        out.printf(Locale.ROOT, "  threshold: distance %.4f, scale %.4f; out of fold (%d folds, %d parts) it rejects"
                + " %.2f%% of %d good images (target %.2f%%; 95%% upper bound %.2f%%)%n", c.threshold(), c.scale(),
                s.folds(), s.groups(), 100 * c.outOfFoldFalseRejectRate(), c.images(),
                100 * c.targetFalseRejectRate(), 100 * c.falseRejectRateUpper95());
        if (s.labelledDefects() != null) {
            out.printf(Locale.ROOT, "  %d labelled defect images %s: AUROC %.4f, %.1f%% at or above the threshold%n",
                    s.labelledDefects().images(), s.otherClasses(), s.labelledDefects().auroc(),
                    100 * s.labelledDefects().recallAtThreshold());
        }
        out.printf(Locale.ROOT, "  time: patches %.1fs, coresets %.1fs, scoring %.1fs, total %.1fs; peak heap %d MB;"
                + " %d images skipped%n", s.timing().get("extractSeconds"), s.timing().get("coresetSeconds"),
                s.timing().get("scoreSeconds"), s.timing().get("totalSeconds"), s.peakHeapBytes() >> 20,
                s.skippedImages());
    }

    /** The input geometry from the command line, with {@code --tiles} when given. */
    private InputGeometry geometry() {
        InputGeometry g = geometry(size, input, longSide);
        return tiles == null ? g : g.withTiles(Tiling.parse(tiles, tileOverlap));
    }

    /** The input geometry from {@code --size}, {@code --input} and {@code --long-side} (at most one of them). */
    static InputGeometry geometry(int size, String input, int longSide) {
        int given = (size != 0 ? 1 : 0) + (input != null ? 1 : 0) + (longSide != 0 ? 1 : 0);
        if (given > 1) {
            throw new dev.vigil.core.VigilException("give at most one of --size, --input and --long-side");
        }
        if (input != null) {
            return InputGeometry.parse(input);
        }
        return longSide != 0 ? new InputGeometry(0, 0, longSide) : InputGeometry.square(size);
    }

    static HeadKind headKind(String head) {
        try {
            return HeadKind.valueOf(head.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new dev.vigil.core.VigilException("--head must be auto, pooled or patch, found '" + head + "'");
        }
    }

    static void summary(PrintStream out, TrainingResult r, ModelPackage pkg) {
        out.printf(Locale.ROOT, "model package %s (id %s)%n", pkg.dir(), pkg.manifest().id());
        out.printf(Locale.ROOT, "  epochs %d (best %d); validation accuracy %.4f, balanced %.4f on %d images"
                + " (out-of-fold where cross-validated)%n",
                r.history().size(), r.bestEpoch(), r.validation().accuracy(), r.validation().balancedAccuracy(),
                r.validation().count());
        if (r.refitted()) {
            out.printf(Locale.ROOT, "  exported model: trained again on training + validation images for %d epochs"
                    + " (the validation figures come from models that did not see the scored images)%n", r.bestEpoch());
        }
        var c = r.calibration();
        if (r.operatingPoint() != null) {
            out.printf(Locale.ROOT, "  operating point (%s%s): defect threshold %.4f -> defect recall %.4f,"
                    + " false rejects %.4f%n", c.method(), c.folds() >= 2 ? ", " + c.folds() + " folds" : "",
                    r.operatingPoint().defectThreshold(), r.operatingPoint().validationRecall(),
                    r.operatingPoint().validationFalseRejectRate());
            if (c.recall() != null && c.defects() > 0) {
                out.printf(Locale.ROOT, "  expected defect recall on new parts %.4f, 95%% lower bound %.4f (%d"
                        + " defects); AUROC %.4f%n", c.recall().recall(), c.recall().lower95(), c.defects(),
                        c.auroc());
            }
            if (c.warning() != null) {
                out.println("  warning: " + c.warning());
            }
        }
        out.printf(Locale.ROOT, "  time: prefix forward %.1fs (original images only %.1fs), training %.1fs,"
                + " total %.1fs; %d features from cache, %d images skipped%n", r.prefixSeconds(),
                r.prefixSecondsOriginal(), r.trainSeconds(), r.totalSeconds(), r.featuresFromCache(),
                r.skippedImages());
        out.println("  per class (train/validation): " + r.counts().entrySet().stream()
                .map(e -> e.getKey() + " " + Arrays.stream(e.getValue()).mapToObj(Integer::toString)
                        .reduce((a, b) -> a + "/" + b).orElse("")).toList());
    }
}
