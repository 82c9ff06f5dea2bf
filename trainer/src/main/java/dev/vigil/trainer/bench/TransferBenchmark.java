package dev.vigil.trainer.bench;

import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.data.Variant;
import dev.vigil.trainer.eval.Evaluation;
import dev.vigil.trainer.eval.Metrics;
import dev.vigil.trainer.features.PoolMode;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.trainer.model.ModelPackage;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TrainingResult;
import dev.vigil.trainer.train.TransferTrainer;
import dev.vigil.trainer.util.Folders;
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
        description = "Transfer-learning benchmark on NEU (6 classes, last 100 per class held out) and casting"
                + " (its test split).")
public final class TransferBenchmark implements Callable<Integer> {
    @Option(names = "--backbone", required = true, paramLabel = "NAME|FILE")
    String backbone;

    @Option(names = "--neu", paramLabel = "DIR", description = "NEU surface defects: one folder per class")
    Path neu;

    @Option(names = "--casting", paramLabel = "DIR", description = "casting impellers: train/ and test/ folders")
    Path casting;

    @Option(names = "--neu-k", split = ",", description = "labelled images per class (default 5,10,20,50)")
    List<Integer> neuK = List.of(5, 10, 20, 50);

    @Option(names = "--casting-k", split = ",", description = "labelled images per class (default 10,50,400)")
    List<Integer> castingK = List.of(10, 50, 400);

    @Option(names = "--configs", split = ",", description = "baseline, u0, u1, u2, random (default all)")
    List<String> configs = List.of("baseline", "u0", "u1", "u2", "random");

    @Option(names = "--size", description = "input size for the Vigil configurations (0 = backbone's)")
    int size = 0;

    @Option(names = "--taps", split = ",", description = "taps for the Vigil configurations (default: trainer's)")
    List<Integer> taps = TrainOptions.defaults().taps();

    @Option(names = "--pool", description = "pool for the Vigil configurations (default: trainer's)")
    String pool = TrainOptions.defaults().pool().name();

    @Option(names = "--epochs", description = "most epochs (default: trainer's)")
    int epochs = TrainOptions.defaults().epochs();

    @Option(names = "--work", paramLabel = "DIR", description = "scratch folder (default: a temp folder)")
    Path work;

    @Option(names = "--verbose")
    boolean verbose;

    private final List<String> rows = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Path dir = work != null ? work : Files.createTempDirectory("vigil-bench");
        Backbone bb = new BackboneResolver(BackboneResolver.defaultCache(), System.err::println).resolve(backbone);
        PrintStream quiet = verbose ? System.err : new PrintStream(OutputStream.nullOutputStream());
        header();
        if (neu != null) {
            Path test = dir.resolve("neu-test");
            subset(neu, test, -100, 100);
            for (int k : neuK) {
                Path train = dir.resolve("neu-train-" + k);
                subset(neu, train, 0, k);
                runAll(bb, "NEU", k, train, test, dir, quiet);
            }
        }
        if (casting != null) {
            for (int k : castingK) {
                Path train = dir.resolve("casting-train-" + k);
                subset(casting.resolve("train"), train, 0, k);
                runAll(bb, "casting", k, train, casting.resolve("test"), dir, quiet);
            }
        }
        System.out.printf(Locale.ROOT, "peak RSS %.0f MiB%n", peakRssMiB());
        return 0;
    }

    private void runAll(Backbone bb, String name, int k, Path train, Path test, Path dir, PrintStream log)
            throws IOException {
        for (String c : configs) {
            TrainOptions o = options(c);
            Path out = dir.resolve("pkg-" + name + "-" + k + "-" + c);
            Folders.deleteTree(out);
            ImageDataset ds = ImageDataset.scan(train, 2);
            try (TransferTrainer t = new TransferTrainer(bb, ds, o, dir.resolve("features"), log)) {
                TrainingResult r = t.train();
                ModelPackage pkg = new ModelExporter(t).write(out);
                Metrics m = Evaluation.run(pkg, ImageDataset.scan(test, 1), log).metrics();
                String row = String.format(Locale.ROOT, "%-8s %4d %-9s %8.4f %8.4f %8s %8s %7.1f %7.1f %7.1f %6s",
                        name, k, c, m.accuracy(), m.balancedAccuracy(), pct(m.defectRecall()),
                        pct(m.falseRejectRate()), r.prefixSecondsOriginal(), r.prefixSeconds(), r.totalSeconds(),
                        r.prefixSecondsOriginal() < 1e-3 ? "-" : String.format(Locale.ROOT, "%.2f",
                                r.totalSeconds() / r.prefixSecondsOriginal()));
                System.out.println(row);
                rows.add(row);
            }
        }
    }

    private TrainOptions options(String config) {
        TrainOptions d = TrainOptions.defaults().withEpochs(epochs);
        TrainOptions vigil = d.withHead(size, taps, PoolMode.parse(pool));
        return switch (config) {
            case "baseline" -> d.withUnfreeze(0).withHead(0, List.of(0), PoolMode.AVG)
                    .withAugment(List.of(Variant.ORIGINAL)).withTta(false);
            case "u0" -> vigil.withUnfreeze(0);
            case "u1" -> vigil.withUnfreeze(1);
            case "u2" -> vigil.withUnfreeze(2);
            case "random" -> vigil.withRandom(true).withLr(3e-3f);
            default -> throw new IllegalArgumentException("unknown config " + config);
        };
    }

    private static void header() {
        System.out.println("baseline = logistic regression on frozen, average-pooled final features, no augmentation;"
                + " u0/u1/u2 = Vigil --unfreeze 0/1/2; random = same network from scratch.");
        System.out.println("prefix1 = one prefix forward pass over the training+validation images (seconds);"
                + " prefixAll = all cached variants; ratio = total / prefix1");
        System.out.printf("%-8s %4s %-9s %8s %8s %8s %8s %7s %7s %7s %6s%n", "data", "k", "config", "acc", "balAcc",
                "recall", "FRR", "prefix1", "prefAll", "total", "ratio");
    }

    private static String pct(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.4f", v);
    }

    /** Links images [from, from+count) of each class folder (sorted; negative from = from the end). */
    static void subset(Path src, Path dst, int from, int count) throws IOException {
        Folders.deleteTree(dst);
        List<Path> classes;
        try (Stream<Path> s = Files.list(src)) {
            classes = s.filter(Files::isDirectory).sorted().toList();
        }
        for (Path c : classes) {
            List<Path> imgs;
            try (Stream<Path> s = Files.list(c)) {
                imgs = s.filter(ImageDataset::isImageName).sorted().toList();
            }
            int start = from < 0 ? Math.max(0, imgs.size() + from) : from;
            int end = from < 0 ? imgs.size() : Math.min(imgs.size(), start + count);
            Path d = dst.resolve(c.getFileName());
            Files.createDirectories(d);
            for (Path img : imgs.subList(start, end)) {
                Files.createSymbolicLink(d.resolve(img.getFileName()), img.toAbsolutePath());
            }
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
