package dev.vigil.trainer.bench;

import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.eval.Evaluation;
import dev.vigil.trainer.eval.Metrics;
import dev.vigil.trainer.features.PoolMode;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.train.Finetune;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TrainingResult;
import dev.vigil.trainer.train.TransferTrainer;
import dev.vigil.core.Folders;
import java.io.IOException;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vigil benchmark}: what transfer learning buys, in one run. Trains with k labelled images per class for
 * several configurations (the frozen-feature logistic-regression baseline, {@code --unfreeze} 0/1/2, and the same
 * network from scratch) and measures each on held-out images, side by side.
 */
@Command(name = "benchmark", mixinStandardHelpOptions = true,
        description = "Transfer-learning benchmark on NEU (6 classes, 100 random images per class held out) and"
                + " casting (its test split), k labelled images per class drawn at random, averaged over --draws.")
public final class TransferBenchmark implements Callable<Integer> {
    @Option(names = "--backbone", required = true, paramLabel = "NAME|FILE")
    String backbone;

    @Option(names = "--neu", paramLabel = "DIR", description = "NEU surface defects: one folder per class")
    Path neu;

    @Option(names = "--casting", paramLabel = "DIR", description = "casting impellers: train/ and test/ folders")
    Path casting;

    @Option(names = "--kolektor", paramLabel = "DIR", description = "KolektorSDD: {train,test}/{ok,defective} and"
            + " masks/ (small defects: AUROC, recall at the package's operating point against its promise, heatmap"
            + " hits)")
    Path kolektor;

    @Option(names = "--kolektor-configs", split = ",", description = "pooled, combined, patch, anomaly,"
            + " u0, u1, all, progressive[:E] (default"
            + " pooled,combined: the supervised head alone and with a memory of good parts beside it, as vigil train"
            + " builds by default; patch = the multiple-instance patch head alone; anomaly = good parts alone)")
    List<String> kolektorConfigs = List.of("pooled", "combined");

    @Option(names = "--kolektor-input", paramLabel = "WxH", description = "the input size the KolektorSDD packages"
            + " train at (default: measured from the images, as vigil train does: 416x1024 letterboxed); a smaller"
            + " one makes the strategy rows (u1, all, progressive) affordable on a CPU")
    String kolektorInput;

    @Option(names = "--kolektor-k", split = ",", description = "KolektorSDD training images per class, drawn from each"
            + " draw's training commutators (default all; a class with fewer keeps all of its images: about 43 are"
            + " defective)")
    List<String> kolektorK = List.of("all");

    @Option(names = "--kolektor-target-recall", description = "the recall each KolektorSDD package's operating point"
            + " aims at (default 0.95, the issue's target; the trainer's own default is 0.99)")
    double kolektorTargetRecall = 0.95;

    @Option(names = "--folds", description = "cross-validation folds behind each package's operating point (default:"
            + " the trainer's; 0 = held-out split only, faster)")
    int folds = TrainOptions.defaults().folds();

    @Option(names = "--neu-k", split = ",", description = "labelled images per class (default 5,10,20,50)")
    List<Integer> neuK = List.of(5, 10, 20, 50);

    @Option(names = "--casting-k", split = ",", description = "labelled images per class (default 10,50,400)")
    List<Integer> castingK = List.of(10, 50, 400);

    @Option(names = "--configs", split = ",", description = "baseline, u0, u1, u2 (--unfreeze 0/1/2), all"
            + " (--unfreeze all), progressive[:E] (--schedule progressive), puN (progressive up to N blocks), random"
            + " (default baseline,u0,u1,u2,random)")
    List<String> configs = List.of("baseline", "u0", "u1", "u2", "random");

    @Option(names = "--size", description = "input size for the Vigil configurations (0 = backbone's; with --multitask: the"
            + " trainer's automatic choice over all training images of the draw, one input for all three models)")
    int size = 0;

    @Option(names = "--taps", split = ",", description = "taps for the Vigil configurations (default: trainer's)")
    List<Integer> taps = TrainOptions.defaults().taps();

    @Option(names = "--pool", description = "pool for the Vigil configurations (default: trainer's)")
    String pool = TrainOptions.defaults().pool().name();

    @Option(names = "--epochs", description = "most epochs (default: trainer's)")
    int epochs = TrainOptions.defaults().epochs();

    @Option(names = "--no-refit", description = "keep the models trained without their validation images")
    boolean noRefit;

    @Option(names = "--draws", description = "random draws of the k images (and of NEU's held-out images) per row;"
            + " rows report the mean, the standard deviation and the worst draw (default 3)")
    int draws = 3;

    @Option(names = "--first-draw", description = "number the draws from N (default 0), so that a later run adds draws"
            + " N.. to an earlier run's 0..N-1 instead of repeating them (a draw's images and seed follow from its"
            + " number): long rows can be measured a draw at a time")
    int firstDraw = 0;

    @Option(names = "--adapt", description = "instead of the strategy table: for each dataset, the accuracy five"
            + " controlled shifts (brightness, gamma, blur, noise, JPEG) cost a model trained on --adapt-k images per"
            + " class, what vigil adapt wins back (unlabelled, and with 5 labelled per class), and the drift alarm's"
            + " share of windows on unshifted and shifted replays")
    boolean adapt;

    @Option(names = "--adapt-k", description = "labelled images per class behind the adapted model (default 50)")
    int adaptK = 50;

    @Option(names = "--multitask", description = "instead of the strategy table: one model with heads product"
            + " (casting|kolektor) and verdict (ok|defective) against two separate models (verdict, product) trained on"
            + " the same images with the same options: accuracies, recall and false rejects at each package's"
            + " operating point, training time and serving cost (needs --casting and --kolektor)")
    boolean multitask;

    @Option(names = "--multitask-k", description = "training images per (product, verdict) cell (default 50;"
            + " KolektorSDD's defectives are capped at 60%% of its 52, split by commutator)")
    int multitaskK = 50;

    @Option(names = "--multitask-casting-test", description = "casting test images per class, a seeded subset of"
            + " test/ (default 0 = all 150 per class)")
    int multitaskCastingTest = 0;

    @Option(names = "--drift-window", description = "frames per drift window (default: drift.window's)")
    int driftWindow = dev.vigil.core.drift.DriftWindow.DEFAULT_SIZE;

    @Option(names = "--drift-threshold", description = "drift alarm threshold (default: drift.threshold's)")
    double driftThreshold = dev.vigil.core.drift.DriftWindow.DEFAULT_THRESHOLD;

    @Option(names = "--work", paramLabel = "DIR", description = "scratch folder (default: a temp folder)")
    Path work;

    @Option(names = "--verbose")
    boolean verbose;

    private final List<String> summaries = new ArrayList<>();

    /**
     * The options every configuration starts from: benchmarks compare packages, so no learning curve (it leaves the
     * package as it is and would only add 3 trainings per fold to the measured time).
     */
    private TrainOptions base() {
        return TrainOptions.defaults().withEpochs(epochs).withRefit(!noRefit).withFolds(folds).withLearningCurve(false);
    }

    @Override
    public Integer call() throws Exception {
        Path dir = work != null ? work : Files.createTempDirectory("vigil-bench");
        Backbone bb = new BackboneResolver(BackboneResolver.defaultCache(), System.err::println).resolve(backbone);
        PrintStream quiet = verbose ? System.err : new PrintStream(OutputStream.nullOutputStream());
        if (draws < 1) {
            throw new dev.vigil.core.VigilException("--draws must be at least 1, found " + draws);
        }
        if (firstDraw < 0) {
            throw new dev.vigil.core.VigilException("--first-draw must be 0 or more, found " + firstDraw);
        }
        List<Integer> kolektorKs = kolektorKs();
        if (multitask) {
            if (casting == null || kolektor == null) {
                throw new dev.vigil.core.VigilException("--multitask needs --casting DIR and --kolektor DIR (the"
                        + " product head tells casting impellers from KolektorSDD commutators)");
            }
            new MultiTaskBenchmark(bb, casting, kolektor, dir, quiet, multitaskK, multitaskCastingTest, size)
                    .run(firstDraw, draws, base());
            System.out.printf(Locale.ROOT, "peak RSS %.0f MiB%n", peakRssMiB());
            return 0;
        }
        if (adapt) {
            AdaptBenchmark.header(driftWindow, driftThreshold);
            AdaptBenchmark b = new AdaptBenchmark(bb, dir, quiet, driftWindow, driftThreshold);
            TrainOptions o = base();
            for (int d = firstDraw; d < firstDraw + draws; d++) {
                if (neu != null) {
                    Path test = dir.resolve("neu-test-" + d);
                    Path train = dir.resolve("neu-train-" + adaptK + "-" + d);
                    draw(neu, d, List.of(new Selection(test, 0, 100), new Selection(train, 100, adaptK)));
                    b.run("NEU", adaptK, d, train, test, o.withSeed(o.seed() + d));
                }
                if (casting != null) {
                    Path train = dir.resolve("casting-train-" + adaptK + "-" + d);
                    draw(casting.resolve("train"), d, List.of(new Selection(train, 0, adaptK)));
                    b.run("casting", adaptK, d, train, casting.resolve("test"), o.withSeed(o.seed() + d));
                }
            }
            System.out.printf(Locale.ROOT, "peak RSS %.0f MiB%n", peakRssMiB());
            return 0;
        }
        header();
        for (int k : neu == null ? List.<Integer>of() : neuK) {
            List<Path[]> splits = new ArrayList<>();
            for (int d = firstDraw; d < firstDraw + draws; d++) {
                Path test = dir.resolve("neu-test-" + d);
                Path train = dir.resolve("neu-train-" + k + "-" + d);
                draw(neu, d, List.of(new Selection(test, 0, 100), new Selection(train, 100, k)));
                splits.add(new Path[] {train, test});
            }
            runAll(bb, "NEU", k, splits, dir, quiet);
        }
        for (int k : casting == null ? List.<Integer>of() : castingK) {
            List<Path[]> splits = new ArrayList<>();
            for (int d = firstDraw; d < firstDraw + draws; d++) {
                Path train = dir.resolve("casting-train-" + k + "-" + d);
                draw(casting.resolve("train"), d, List.of(new Selection(train, 0, k)));
                splits.add(new Path[] {train, casting.resolve("test")});
            }
            runAll(bb, "casting", k, splits, dir, quiet);
        }
        if (kolektor != null) {
            TrainOptions k = base().withTargetRecall(kolektorTargetRecall);
            new KolektorBenchmark(bb, kolektor, dir, quiet).run(kolektorConfigs, kolektorKs, firstDraw, draws,
                    kolektorInput == null ? k
                    : k.withGeometry(dev.vigil.trainer.train.InputGeometry.parse(kolektorInput)));
        }
        if (neu == null && casting == null) {
            System.out.printf(Locale.ROOT, "peak RSS %.0f MiB%n", peakRssMiB());
            return 0;
        }
        System.out.println();
        System.out.println("summary over " + draws + " draw" + (draws == 1 ? "" : "s")
                + " (acc = mean accuracy, sd = its standard deviation, min = worst draw; recall, FRR and ratio means;"
                + " peakMiB = the process's peak resident memory during that row's draws)");
        System.out.printf("%-8s %4s %-11s %8s %7s %8s %8s %8s %7s %6s %7s%n", "data", "k", "config", "acc", "sd",
                "min", "recall", "FRR", "total", "ratio", "peakMiB");
        summaries.forEach(System.out::println);
        System.out.printf(Locale.ROOT, "peak RSS %.0f MiB%n", peakRssMiB());
        return 0;
    }

    /** {@code --kolektor-k} as numbers, 0 for {@code all}. */
    List<Integer> kolektorKs() {
        List<Integer> out = new ArrayList<>();
        for (String v : kolektorK) {
            if (v.trim().equalsIgnoreCase("all")) {
                out.add(0);
                continue;
            }
            try {
                int k = Integer.parseInt(v.trim());
                if (k > 0) {
                    out.add(k);
                    continue;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new dev.vigil.core.VigilException("--kolektor-k: '" + v + "' is neither a positive number of images"
                    + " per class nor 'all'; give for example --kolektor-k 10,50,all");
        }
        return out;
    }

    private void runAll(Backbone bb, String name, int k, List<Path[]> splits, Path dir, PrintStream log)
            throws IOException {
        for (String c : configs) {
            TrainOptions o = options(c);
            resetPeakRss();
            double[] acc = new double[splits.size()];
            double[] recall = new double[splits.size()];
            double[] frr = new double[splits.size()];
            double[] total = new double[splits.size()];
            double[] ratio = new double[splits.size()];
            for (int d = 0; d < splits.size(); d++) {
                int draw = firstDraw + d;
                Path out = dir.resolve("pkg-" + name + "-" + k + "-" + c + "-" + draw);
                Folders.deleteTree(out);
                ImageDataset ds = ImageDataset.scan(splits.get(d)[0], 2);
                try (TransferTrainer t = new TransferTrainer(bb, ds, o.withSeed(o.seed() + draw), dir.resolve("features"),
                        log)) {
                    TrainingResult r = t.train();
                    ModelPackage pkg = new ModelExporter(t).write(out);
                    Metrics m = Evaluation.run(pkg, ImageDataset.scan(splits.get(d)[1], 1), log).metrics();
                    acc[d] = m.accuracy();
                    recall[d] = m.defectRecall();
                    frr[d] = m.falseRejectRate();
                    total[d] = r.totalSeconds();
                    ratio[d] = r.prefixSecondsOriginal() < 1e-3 ? Double.NaN
                            : r.totalSeconds() / r.prefixSecondsOriginal();
                    System.out.println(String.format(Locale.ROOT,
                            "%-8s %4d %-11s %4d %8.4f %8.4f %8s %8s %7.1f %7.1f %7.1f %6s", name, k, c, draw,
                            m.accuracy(), m.balancedAccuracy(), pct(m.defectRecall()), pct(m.falseRejectRate()),
                            r.prefixSecondsOriginal(), r.prefixSeconds(), r.totalSeconds(), Double.isNaN(ratio[d])
                                    ? "-" : String.format(Locale.ROOT, "%.2f", ratio[d])));
                }
                Folders.deleteTree(out);
            }
            double meanRatio = mean(java.util.Arrays.stream(ratio).filter(v -> !Double.isNaN(v)).toArray());
            summaries.add(String.format(Locale.ROOT, "%-8s %4d %-11s %8.4f %7.4f %8.4f %8s %8s %7.1f %6s %7.0f", name,
                    k, c, mean(acc), sd(acc), java.util.Arrays.stream(acc).min().orElse(Double.NaN),
                    pct(mean(recall)), pct(mean(frr)), mean(total), Double.isNaN(meanRatio) ? "-"
                            : String.format(Locale.ROOT, "%.2f", meanRatio), peakRssMiB()));
        }
    }

    private static double mean(double[] a) {
        return java.util.Arrays.stream(a).average().orElse(Double.NaN);
    }

    private static double sd(double[] a) {
        double m = mean(a);
        return Math.sqrt(java.util.Arrays.stream(a).map(v -> (v - m) * (v - m)).sum() / Math.max(1, a.length - 1));
    }

    private TrainOptions options(String config) {
        TrainOptions d = base();
        TrainOptions vigil = d.withHead(size, taps, PoolMode.parse(pool));
        return switch (config) {
            case "baseline" -> d.withUnfreeze(0).withHead(0, List.of(0), PoolMode.AVG)
                    .withAugment(List.of(Variant.ORIGINAL)).withTta(false);
            case "u0" -> vigil.withUnfreeze(0);
            case "u1" -> vigil.withUnfreeze(1);
            case "u2" -> vigil.withUnfreeze(2);
            case "all" -> vigil.withUnfreeze(TrainOptions.UNFREEZE_ALL);
            case "random" -> vigil.withRandom(true).withLr(3e-3f);
            default -> config.startsWith("progressive") ? vigil.withFinetune(new Finetune(
                    d.finetune().lrDecay(), false, Finetune.parseSchedule(config)))
                    : config.startsWith("pu") ? vigil.withUnfreeze(Integer.parseInt(config.substring(2)))
                            .withFinetune(new Finetune(d.finetune().lrDecay(), false,
                                    Finetune.DEFAULT_EPOCHS_PER_STAGE))
                    : unknown(config);
        };
    }

    private static TrainOptions unknown(String config) {
        throw new dev.vigil.core.VigilException("unknown --configs entry '" + config + "': baseline, u0, u1, u2,"
                + " all, progressive[:E], puN (progressive up to N blocks) or random");
    }


    private static void header() {
        System.out.println("baseline = logistic regression on frozen, average-pooled final features, no augmentation;"
                + " u0/u1/u2 = Vigil --unfreeze 0/1/2; random = same network from scratch.");
        System.out.println("prefix1 = one prefix forward pass over the training+validation images (seconds);"
                + " prefixAll = all cached variants; ratio = total / prefix1 (- when every feature came from the"
                + " cache of an earlier row)");
        System.out.printf("%-8s %4s %-11s %4s %8s %8s %8s %8s %7s %7s %7s %6s%n", "data", "k", "config", "draw", "acc",
                "balAcc", "recall", "FRR", "prefix1", "prefAll", "total", "ratio");
    }

    private static String pct(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.4f", v);
    }

    /** Images {@code [from, from + count)} of each class of a shuffled draw, linked into {@code dir}. */
    record Selection(Path dir, int from, int count) {}

    /**
     * Shuffles each class folder of {@code src} (sorted first, then shuffled with a seed made of the draw and the class
     * name, so a draw is the same on every machine and for every k) and links the selected ranges. Taking the first
     * files in name order instead is not a random sample: NEU's file numbers follow the acquisition order, and the
     * first names differ from the last enough to cost the baseline about seven points at 10 per class.
     */
    static void draw(Path src, int draw, List<Selection> selections) throws IOException {
        for (Selection sel : selections) {
            Folders.deleteTree(sel.dir());
        }
        List<Path> classes;
        try (Stream<Path> s = Files.list(src)) {
            classes = s.filter(Files::isDirectory).sorted().toList();
        }
        for (Path c : classes) {
            List<Path> imgs;
            try (Stream<Path> s = Files.list(c)) {
                imgs = new ArrayList<>(s.filter(ImageDataset::isImageName).sorted().toList());
            }
            java.util.Collections.shuffle(imgs, new java.util.Random(31L * draw + c.getFileName().toString()
                    .hashCode()));
            for (Selection sel : selections) {
                if (sel.from() + sel.count() > imgs.size()) {
                    throw new dev.vigil.core.VigilException(c + " has " + imgs.size() + " images; this benchmark"
                            + " needs " + (sel.from() + sel.count()) + " per class");
                }
                Path d = sel.dir().resolve(c.getFileName());
                Files.createDirectories(d);
                for (Path img : imgs.subList(sel.from(), sel.from() + sel.count())) {
                    Files.createSymbolicLink(d.resolve(img.getFileName()), img.toAbsolutePath());
                }
            }
        }
    }

    /** Starts a new peak-RSS measurement (Linux: writing 5 to clear_refs resets VmHWM); quietly nothing elsewhere. */
    static void resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | RuntimeException e) {
            // not Linux, or not permitted: the peak then covers the whole run so far
        }
    }

    static double peakRssMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}
