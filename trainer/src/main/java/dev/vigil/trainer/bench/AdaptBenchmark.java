package dev.vigil.trainer.bench;

import dev.vigil.core.Folders;
import dev.vigil.core.drift.DriftWindow;
import dev.vigil.core.image.ImageIo;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.image.Variant;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.adapt.Adaptation;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.data.LabelledImage;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.trainer.model.OrtClassifier;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TransferTrainer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * {@code vigil benchmark --adapt}: what each controlled change of condition ({@link Shift}) costs a trained model,
 * how much of it {@code vigil adapt} wins back from unlabelled frames (the training images, shifted) and with 5
 * labelled frames per class more, and whether the drift watch notices: the share of sliding windows whose score
 * reaches the threshold over a replay of the test set (seeded shuffle: a line mixes parts), unshifted and shifted.
 */
final class AdaptBenchmark {
    private final Backbone backbone;
    private final Path work;
    private final PrintStream log;
    private final int window;
    private final double threshold;

    AdaptBenchmark(Backbone backbone, Path work, PrintStream log, int window, double threshold) {
        this.backbone = backbone;
        this.work = work;
        this.log = log;
        this.window = window;
        this.threshold = threshold;
    }

    static void header(int window, double threshold) {
        System.out.printf(Locale.ROOT, "adaptation: acc = test accuracy; recovered = share of the accuracy the shift"
                + " cost that adapt won back; alarm = share of %d-frame windows whose drift score reached %.1f over"
                + " a shuffled replay of the test set; score = mean window score (about 1 = like the training"
                + " parts)%n", window, threshold);
        System.out.printf("%-8s %4s %-4s %-24s %8s %8s %8s %10s %8s %8s %8s %9s %5s%n", "data", "k", "draw", "shift",
                "acc", "adapted", "+5/cls", "recovered", "alarm", "score", "max/min", "adaptScore", "input");
    }

    /** One dataset: train on {@code train}, measure on {@code test}. */
    void run(String name, int k, int draw, Path train, Path test, TrainOptions options) throws IOException {
        Path dir = work.resolve("adapt-" + name + "-" + k + "-" + draw);
        Folders.deleteTree(dir);
        Path pkgDir = dir.resolve("model");
        ModelPackage pkg;
        try (TransferTrainer t = new TransferTrainer(backbone, ImageDataset.scan(train, 2), options,
                work.resolve("features"), log)) {
            t.train();
            pkg = new ModelExporter(t).write(pkgDir);
        }
        List<LabelledImage> testImages = shuffled(ImageDataset.scan(test, 1), draw);
        ImageDataset testSet = ImageDataset.scan(test, 1);
        Measured clean = measure(pkg, testSet.classes(), testImages);
        print(name, k, draw, "none", clean.accuracy(), Double.NaN, Double.NaN, Double.NaN, clean, Double.NaN, "");
        for (Shift s : Shift.values()) {
            Path shiftedTest = dir.resolve("test-" + s.name().toLowerCase(Locale.ROOT));
            Path shiftedTrain = dir.resolve("train-" + s.name().toLowerCase(Locale.ROOT));
            s.applyTree(test, shiftedTest);
            s.applyTree(train, shiftedTrain);
            ImageDataset st = ImageDataset.scan(shiftedTest, 1);
            List<LabelledImage> stImages = shuffled(st, draw);
            Measured before = measure(pkg, st.classes(), stImages);
            ImageDataset unlabelled = ImageDataset.scan(shiftedTrain, 1);
            Adaptation.Options o = Adaptation.Options.defaults().withReference("all");
            ModelPackage adapted = new Adaptation(pkg, o, log).adapt(unlabelled.images().stream()
                    .map(LabelledImage::path).toList(), null, dir.resolve("adapted-" + s.name())).pkg();
            Measured after = measure(adapted, st.classes(), stImages);
            Path few = fewPerClass(unlabelled, dir.resolve("labelled-" + s.name()), 5);
            ModelPackage tuned = new Adaptation(pkg, o, log).adapt(unlabelled.images().stream()
                    .map(LabelledImage::path).toList(), ImageDataset.scan(few, 1), dir.resolve("tuned-" + s.name()))
                    .pkg();
            Measured withLabels = measure(tuned, st.classes(), stImages);
            double cost = clean.accuracy() - before.accuracy();
            double recovered = cost <= 0 ? Double.NaN : (after.accuracy() - before.accuracy()) / cost;
            // whether adapt (--input auto) kept the input normalisation it re-estimated
            String input = adapted.preprocessing().equals(pkg.preprocessing()) ? "no" : "yes";
            print(name, k, draw, s.description(), before.accuracy(), after.accuracy(), withLabels.accuracy(),
                    recovered, before, after.meanScore(), input);
        }
        Folders.deleteTree(dir);
    }

    private void print(String name, int k, int draw, String shift, double acc, double adapted, double tuned,
            double recovered, Measured m, double adaptedScore, String input) {
        System.out.println(String.format(Locale.ROOT, "%-8s %4d %-4d %-24s %8.4f %8s %8s %10s %8.3f %8.2f %8.2f %9s %5s",
                name, k, draw, shift, acc, f(adapted), f(tuned), f(recovered), m.alarmShare(), m.meanScore(),
                shift.equals("none") ? m.maxScore() : m.minScore(), f(adaptedScore), input));
    }

    private static String f(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.4f", v);
    }

    /**
     * Accuracy and the drift windows over a replay.
     *
     * @param alarmShare share of full windows whose score reached the threshold
     */
    record Measured(double accuracy, double alarmShare, double meanScore, double maxScore, double minScore) {}

    private Measured measure(ModelPackage pkg, List<String> classes, List<LabelledImage> images) {
        Preprocessing pre = pkg.preprocessing();
        List<String> labels = pkg.manifest().labels();
        var drift = pkg.manifest().output().drift();
        int correct = 0;
        int windows = 0;
        int alarms = 0;
        double sum = 0;
        double max = Double.NEGATIVE_INFINITY;
        double min = Double.POSITIVE_INFINITY;
        DriftWindow win = null;
        try (OrtClassifier clf = new OrtClassifier(pkg)) {
            for (int start = 0; start < images.size(); start += 4) {
                int n = Math.min(4, images.size() - start);
                float[] x = new float[n * pre.valuesPerImage()];
                for (int i = 0; i < n; i++) {
                    Path p = images.get(start + i).path();
                    float[] v = ImageIo.preprocess(ImageIo.read(p), pre, Variant.ORIGINAL, p.toString());
                    System.arraycopy(v, 0, x, i * pre.valuesPerImage(), v.length);
                }
                OrtClassifier.Outputs o = clf.runAll(x, n);
                for (int i = 0; i < n; i++) {
                    LabelledImage img = images.get(start + i);
                    int predicted = dev.vigil.trainer.eval.Metrics.argmax(o.probabilities()[i]);
                    correct += labels.get(predicted).equals(classes.get(img.label())) ? 1 : 0;
                    if (win == null) {
                        win = new DriftWindow(window, o.drift()[i].length);
                    }
                    double s = drift.normalise(win.add(o.drift()[i]), window);
                    if (!Double.isNaN(s)) {
                        windows++;
                        alarms += s >= threshold ? 1 : 0;
                        sum += s;
                        max = Math.max(max, s);
                        min = Math.min(min, s);
                    }
                }
            }
        }
        return new Measured(correct / (double) images.size(), alarms / (double) windows, sum / windows, max, min);
    }

    private static List<LabelledImage> shuffled(ImageDataset d, int draw) {
        List<LabelledImage> l = new ArrayList<>(d.images());
        Collections.shuffle(l, new Random(1000L + draw));
        return l;
    }

    /** The first {@code n} images of each class of {@code d}, linked into {@code dir}. */
    private static Path fewPerClass(ImageDataset d, Path dir, int n) throws IOException {
        int[] taken = new int[d.classes().size()];
        for (LabelledImage img : d.images()) {
            if (taken[img.label()]++ < n) {
                Path c = Files.createDirectories(dir.resolve(d.classes().get(img.label())));
                Files.createSymbolicLink(c.resolve(img.path().getFileName()), img.path().toAbsolutePath());
            }
        }
        return dir;
    }
}
