package dev.vigil.trainer.bench;

import dev.vigil.core.VigilException;
import dev.vigil.trainer.anomaly.AnomalyOptions;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.combined.PackageTraining;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.core.image.ImageIo;
import dev.vigil.trainer.eval.Auroc;
import dev.vigil.trainer.eval.GroupKFold;
import dev.vigil.core.model.DefectMap;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.model.OrtClassifier;
import dev.vigil.trainer.train.Finetune;
import dev.vigil.trainer.train.HeadKind;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.core.Folders;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.opencv.core.Mat;

/**
 * Small defects, measured: KolektorSDD (commutator surfaces, 500x1247, thin cracks with defect polygons). Each draw
 * holds out a seeded 20% of the commutators (8 consecutive images show one commutator, so no commutator is on both
 * sides), trains each configuration on the rest and measures on the held-out images: image AUROC, defect recall and
 * false rejects at the package's own operating point next to the recall the package promised (with its 95% lower
 * bound), how often the heatmap's peak lies within {@link #HIT_PIXELS} of the defect polygon, training time, peak
 * memory and the per-frame serving cost (decode, preprocess, ONNX Runtime).
 */
final class KolektorBenchmark {
    /** A heatmap peak this close to the defect polygon (frame pixels) counts as a hit. */
    static final double HIT_PIXELS = 16;
    /** Images per commutator in KolektorSDD (eight surface images of each of its 50 commutators). */
    static final int IMAGES_PER_PART = 8;

    private final Backbone backbone;
    private final Path root;
    private final Path work;
    private final PrintStream log;

    KolektorBenchmark(Backbone backbone, Path root, Path work, PrintStream log) {
        this.backbone = backbone;
        this.root = root;
        this.work = work;
        this.log = log;
    }

    /** One KolektorSDD image: its file, whether it is defective, and its defect polygon in frame pixels. */
    record Item(Path file, boolean defective, double[] polygon, int part) {}

    List<Item> items() throws IOException {
        List<Item> out = new ArrayList<>();
        for (String split : List.of("train", "test")) {
            for (String cls : List.of("ok", "defective")) {
                Path dir = root.resolve(split).resolve(cls);
                if (!Files.isDirectory(dir)) {
                    throw new VigilException("--kolektor " + root + ": missing " + dir + "; give the KolektorSDD folder"
                            + " with {train,test}/{ok,defective} and masks/");
                }
                try (Stream<Path> s = Files.list(dir)) {
                    for (Path f : s.filter(ImageDataset::isImageName).sorted().toList()) {
                        String name = f.getFileName().toString();
                        String stem = name.substring(0, name.lastIndexOf('.'));
                        double[] poly = null;
                        if (cls.equals("defective")) {
                            Path mask = root.resolve("masks").resolve(split).resolve(stem + ".txt");
                            poly = Files.exists(mask) ? polygon(mask, f) : null;
                        }
                        int part = stem.matches("\\d+") ? Integer.parseInt(stem) / IMAGES_PER_PART : out.size();
                        out.add(new Item(f, cls.equals("defective"), poly, part));
                    }
                }
            }
        }
        return out;
    }

    /** The YOLO polygon ({@code 0 x1 y1 x2 y2 ...}, normalised) in the image's pixels. */
    private static double[] polygon(Path mask, Path image) throws IOException {
        String[] t = Files.readString(mask).trim().split("\\s+");
        Mat m = ImageIo.decode(ImageIo.read(image), image.toString());
        int w = m.cols();
        int h = m.rows();
        m.release();
        double[] p = new double[t.length - 1];
        for (int i = 1; i < t.length; i++) {
            p[i - 1] = Double.parseDouble(t[i]) * ((i - 1) % 2 == 0 ? w : h);
        }
        return p;
    }

    /** Distance from (x, y) to the polygon: 0 inside, else to the nearest edge. */
    static double distance(double[] poly, double x, double y) {
        int n = poly.length / 2;
        boolean inside = false;
        double best = Double.POSITIVE_INFINITY;
        for (int i = 0, j = n - 1; i < n; j = i++) {
            double xi = poly[2 * i];
            double yi = poly[2 * i + 1];
            double xj = poly[2 * j];
            double yj = poly[2 * j + 1];
            if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) {
                inside = !inside;
            }
            double dx = xj - xi;
            double dy = yj - yi;
            double len = dx * dx + dy * dy;
            double t = len == 0 ? 0 : Math.max(0, Math.min(1, ((x - xi) * dx + (y - yi) * dy) / len));
            best = Math.min(best, Math.hypot(x - (xi + t * dx), y - (yi + t * dy)));
        }
        return inside ? 0 : best;
    }

    /**
     * The training images of a draw cut to at most {@code k} per class ({@code k <= 0}: all of them): each class's
     * images are shuffled with {@code seed} and the first k kept, so a draw's smaller set is part of its larger one,
     * and a class with fewer than k images keeps them all. The order of {@code train} is kept.
     */
    static int[] subset(int[] train, int[] labels, int k, long seed) {
        if (k <= 0) {
            return train.clone();
        }
        java.util.Map<Integer, List<Integer>> byClass = new java.util.TreeMap<>();
        for (int i : train) {
            byClass.computeIfAbsent(labels[i], c -> new ArrayList<>()).add(i);
        }
        java.util.Set<Integer> keep = new java.util.HashSet<>();
        for (List<Integer> members : byClass.values()) {
            java.util.Collections.shuffle(members, new java.util.Random(seed));
            keep.addAll(members.subList(0, Math.min(k, members.size())));
        }
        return Arrays.stream(train).filter(keep::contains).toArray();
    }

    /**
     * Runs each configuration for each k (labelled training images per class, drawn from the draw's training
     * commutators; 0 = all) and draw.
     */
    void run(List<String> configs, List<Integer> ks, int firstDraw, int draws, TrainOptions base) throws IOException {
        List<Item> items = items();
        int[] labels = items.stream().mapToInt(i -> i.defective() ? 0 : 1).toArray();
        int[] parts = dev.vigil.trainer.eval.Grouping.renumber(items.stream().mapToInt(Item::part).toArray());
        System.out.println();
        System.out.printf(Locale.ROOT, "KolektorSDD: %d images (%d defective) of %d commutators; each draw holds out"
                + " 20%% of the commutators%n", items.size(), Arrays.stream(labels).filter(l -> l == 0).count(),
                dev.vigil.trainer.eval.Grouping.count(parts));
        System.out.printf("%-11s %4s %4s %7s %7s %7s %7s %7s %7s %6s %7s %7s %7s %7s%n", "config", "k", "draw", "AUROC",
                "recall", "FRR", "promise", "lower95", "hits", "nDef", "train s", "ms/img", "p99 ms", "RSS MiB");
        List<double[]>[][] rows = new List[ks.size()][configs.size()];
        for (int j = 0; j < ks.size(); j++) {
            for (int c = 0; c < configs.size(); c++) {
                rows[j][c] = new ArrayList<>();
            }
        }
        for (int d = firstDraw; d < firstDraw + draws; d++) {
            int[][] split = GroupKFold.holdOut(labels, List.of("defective", "ok"), parts, 0.2, 1000L + d);
            Path test = work.resolve("kolektor-test-" + d);
            link(items, split[1], test);
            for (int j = 0; j < ks.size(); j++) {
                int k = ks.get(j);
                Path train = work.resolve("kolektor-train-" + kName(k) + "-" + d);
                link(items, subset(split[0], labels, k, 2000L + d), train);
                for (int c = 0; c < configs.size(); c++) {
                    double[] row = runOne(configs.get(c), base.withSeed(base.seed() + d), train, items, split[1],
                            work.resolve("pkg-kolektor-" + configs.get(c) + "-" + kName(k) + "-" + d));
                    rows[j][c].add(row);
                    print(configs.get(c), kName(k), Integer.toString(d), row);
                }
            }
        }
        System.out.println("summary (means over draws; AUROC sd in brackets):");
        for (int j = 0; j < ks.size(); j++) {
            for (int c = 0; c < configs.size(); c++) {
                List<double[]> rs = rows[j][c];
                double[] mean = new double[rs.get(0).length];
                for (double[] r : rs) {
                    for (int i = 0; i < mean.length; i++) {
                        mean[i] += r[i] / rs.size();
                    }
                }
                double sd = Math.sqrt(rs.stream().mapToDouble(r -> (r[0] - mean[0]) * (r[0] - mean[0])).sum()
                        / Math.max(1, rs.size() - 1));
                print(configs.get(c), kName(ks.get(j)), String.format(Locale.ROOT, "(%.3f)", sd), mean);
            }
        }
    }

    private static String kName(int k) {
        return k <= 0 ? "all" : Integer.toString(k);
    }

    private static TrainOptions unknown(String config) {
        throw new VigilException("unknown KolektorSDD configuration '" + config + "' (patch, pooled, combined,"
                + " anomaly, or the strategies u0, u1, all, progressive[:E] with the pooled head)");
    }

    private static void print(String config, String k, String draw, double[] r) {
        System.out.printf(Locale.ROOT, "%-11s %4s %4s %7.4f %7.4f %7.4f %7.4f %7.4f %7.4f %6.0f %7.1f %7.1f %7.1f %7.0f%n",
                config, k, draw, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10]);
    }

    private static void link(List<Item> items, int[] idx, Path dir) throws IOException {
        Folders.deleteTree(dir);
        for (int i : idx) {
            Item it = items.get(i);
            Path d = dir.resolve(it.defective() ? "defective" : "ok");
            Files.createDirectories(d);
            Files.createSymbolicLink(d.resolve(it.file().getFileName()), it.file().toAbsolutePath());
        }
    }

    /**
     * Trains one configuration and measures it on the held-out images: {AUROC, recall, FRR, promised recall, its
     * lower bound, heatmap hit rate, defects behind the promise, training seconds, mean ms per image, p99 ms, peak
     * RSS}.
     */
    private double[] runOne(String config, TrainOptions base, Path train, List<Item> items, int[] test, Path out)
            throws IOException {
        Folders.deleteTree(out);
        TransferBenchmark.resetPeakRss();
        TrainOptions pooled = base.withHeadKind(HeadKind.POOLED);
        TrainOptions o = switch (config) {
            case "patch" -> base.withHeadKind(HeadKind.PATCH).withUnfreeze(0);
            case "pooled", "combined", "anomaly", "u0" -> pooled.withUnfreeze(0);
            case "u1" -> pooled.withUnfreeze(1);
            case "all" -> pooled.withUnfreeze(TrainOptions.UNFREEZE_ALL);
            default -> config.startsWith("progressive") ? pooled.withFinetune(new Finetune(
                    base.finetune().lrDecay(), false, Finetune.parseSchedule(config)))
                    : unknown(config);
        };
        PackageTraining.Kind kind = switch (config) {
            case "combined" -> PackageTraining.Kind.COMBINED;
            case "anomaly" -> PackageTraining.Kind.ANOMALY;
            default -> PackageTraining.Kind.SUPERVISED;
        };
        long t0 = System.nanoTime();
        PackageTraining.Built built = PackageTraining.train(kind, backbone, ImageDataset.scan(train, 2), o,
                AnomalyOptions.defaults().withSeed(base.seed()), work.resolve("features"), out, log);
        ModelPackage pkg = built.pkg();
        int defectsBehind = built.combined() != null ? built.combined().calibration().defects()
                : built.supervised() != null ? built.supervised().calibration().defects() : 0;
        double trainSeconds = (System.nanoTime() - t0) / 1e9;
        int ok = pkg.okIndex();
        List<Double> defectScores = new ArrayList<>();
        List<Double> okScores = new ArrayList<>();
        double threshold = pkg.defectThreshold();
        int hits = 0;
        int mapped = 0;
        List<Double> ms = new ArrayList<>();
        try (OrtClassifier clf = new OrtClassifier(pkg)) {
            for (int i : test) {
                Item it = items.get(i);
                long s0 = System.nanoTime();
                Mat m = ImageIo.decode(ImageIo.read(it.file()), it.file().toString());
                OrtClassifier.Classification c = clf.classify(m);
                ms.add((System.nanoTime() - s0) / 1e6);
                m.release();
                double score = 1 - c.probabilities()[ok];
                (it.defective() ? defectScores : okScores).add(score);
                if (it.defective() && it.polygon() != null && c.defectMap() != null) {
                    DefectMap.Peak p = c.defectMap().peak();
                    mapped++;
                    if (distance(it.polygon(), p.x(), p.y()) <= HIT_PIXELS) {
                        hits++;
                    }
                }
            }
        }
        double[] d = defectScores.stream().mapToDouble(Double::doubleValue).toArray();
        double[] g = okScores.stream().mapToDouble(Double::doubleValue).toArray();
        double recall = Arrays.stream(d).filter(s -> s >= threshold).count() / (double) d.length;
        double frr = Arrays.stream(g).filter(s -> s >= threshold).count() / (double) g.length;
        var op = pkg.manifest().operatingPoint();
        double[] sorted = ms.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        Folders.deleteTree(out);
        return new double[] {Auroc.of(d, g), recall, frr, op == null || op.validationRecall() == null ? Double.NaN
                : op.validationRecall(),
                op == null || op.recallLower95() == null ? Double.NaN : op.recallLower95(),
                mapped == 0 ? Double.NaN : hits / (double) mapped, defectsBehind, trainSeconds,
                Arrays.stream(sorted).average().orElse(Double.NaN),
                sorted[Math.min(sorted.length - 1, (int) Math.ceil(0.99 * sorted.length) - 1)],
                TransferBenchmark.peakRssMiB()};
    }
}
