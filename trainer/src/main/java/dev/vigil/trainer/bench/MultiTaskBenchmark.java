package dev.vigil.trainer.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.core.Folders;
import dev.vigil.core.VigilException;
import dev.vigil.core.image.ImageIo;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.image.Variant;
import dev.vigil.core.model.Manifest;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.combined.PackageTraining;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.data.LabelTable;
import dev.vigil.trainer.eval.Metrics;
import dev.vigil.trainer.features.FeatureExtractor;
import dev.vigil.trainer.train.Heads;
import dev.vigil.trainer.train.InputGeometry;
import dev.vigil.trainer.train.TrainOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * {@code vigil benchmark --multitask}: does one model with a {@code product} head (casting impeller or KolektorSDD
 * commutator) and a {@code verdict} head (ok or defective) on one shared suffix match two separate models (a verdict
 * classifier and a product classifier trained on the same images with the same options), at about half the serving
 * cost?
 *
 * <p>Per draw: {@code k} training images per (product, verdict) cell. Casting: drawn from {@code train/{ok,defective}}
 * as the strategy table draws them ({@link TransferBenchmark#draw}); its test part is {@code test/} (all of it, or a
 * seeded subset per class). KolektorSDD has only 52 defective images, so its train and test folders are pooled and
 * split by commutator ({@link #kolektorSplit}): no commutator on both sides. The three packages train from label
 * tables with the same rows in the same order (both columns for the multi model, one each for the separate ones), so
 * that they differ in their heads only: the listing order seeds the held-out split and the shuffles, and moves a
 * model's accuracy by as much as the heads might. Every package is then read back with
 * ONNX Runtime and measured on the same test images: verdict accuracy, balanced accuracy, defect recall and false
 * rejects at the package's own operating point (overall and per product), product accuracy, and the serving cost
 * side by side in one process (batch 1, after a warm-up, the models' runs interleaved, median of repetitions).
 */
final class MultiTaskBenchmark {
    static final String CASTING = "casting";
    static final String KOLEKTOR = "kolektor";
    /** The product head's (and the product model's) column. */
    static final String PRODUCT = "product";
    /** Share of KolektorSDD's defective images that may train (the rest are its test part). */
    static final double KOLEKTOR_TRAIN_SHARE = 0.6;
    /** Images behind the serving-cost figure (half casting, half KolektorSDD test images). */
    static final int COST_IMAGES = 16;
    static final int COST_WARMUP = 8;
    static final int COST_REPETITIONS = 7;

    /** The three packages of a draw, in the order they are printed. */
    static final List<String> MODELS = List.of("multi", "verdict", "product");

    private final Backbone backbone;
    private final Path casting;
    private final Path kolektor;
    private final Path work;
    private final PrintStream log;
    private final int k;
    private final int castingTestPerClass;
    private final int size;

    /**
     * @param castingTestPerClass casting test images per class (a seeded subset of {@code test/}); 0 = all
     * @param size the square input of all three models; 0 = the trainer's automatic choice, made once per draw from
     *     every training image (not each model from its own sample: the three would not always agree)
     */
    MultiTaskBenchmark(Backbone backbone, Path casting, Path kolektor, Path work, PrintStream log, int k,
            int castingTestPerClass, int size) {
        this.size = size;
        this.backbone = backbone;
        this.casting = casting;
        this.kolektor = kolektor;
        this.work = work;
        this.log = log;
        this.k = k;
        this.castingTestPerClass = castingTestPerClass;
    }

    /** One image of the benchmark: its file, its product and its verdict. */
    record Image(Path file, String product, boolean defective) {
        String verdict() {
            return defective ? "defective" : "ok";
        }
    }

    /** A KolektorSDD draw: training and test images, and the commutators on each side. */
    record Split(List<KolektorBenchmark.Item> train, List<KolektorBenchmark.Item> test) {}

    /**
     * A seeded split of KolektorSDD (train and test folders pooled) by commutator: the commutators are shuffled and
     * go to the training side until it holds {@code min(k, round(share × defectives))} defective images (one more when
     * the last commutator has two); the training part is those defective images and {@code k} good images drawn from
     * the same commutators, the test part every defective image of the other commutators and as many good images
     * drawn from those (fewer if they lack them). No image and no commutator is on both sides; the same seed gives the
     * same split.
     */
    static Split kolektorSplit(List<KolektorBenchmark.Item> items, int k, double share, long seed) {
        int defects = (int) items.stream().filter(KolektorBenchmark.Item::defective).count();
        int target = Math.min(k, (int) Math.round(share * defects));
        if (target < 2 || target >= defects) {
            throw new VigilException("KolektorSDD split: " + defects + " defective images, " + target + " of them to"
                    + " train; both sides need defective images (use --multitask-k 2 or more)");
        }
        Map<Integer, List<KolektorBenchmark.Item>> byPart = new TreeMap<>();
        for (KolektorBenchmark.Item it : items) {
            byPart.computeIfAbsent(it.part(), p -> new ArrayList<>()).add(it);
        }
        List<Integer> parts = new ArrayList<>(byPart.keySet());
        Random rnd = new Random(seed);
        Collections.shuffle(parts, rnd);
        List<KolektorBenchmark.Item> trainDefects = new ArrayList<>();
        List<KolektorBenchmark.Item> trainGood = new ArrayList<>();
        List<KolektorBenchmark.Item> testDefects = new ArrayList<>();
        List<KolektorBenchmark.Item> testGood = new ArrayList<>();
        for (int p : parts) {
            boolean train = trainDefects.size() < target;
            for (KolektorBenchmark.Item it : byPart.get(p)) {
                (it.defective() ? (train ? trainDefects : testDefects) : (train ? trainGood : testGood)).add(it);
            }
        }
        if (trainGood.size() < k) {
            throw new VigilException("KolektorSDD split: the training commutators have " + trainGood.size()
                    + " good images, fewer than --multitask-k " + k);
        }
        Collections.shuffle(trainGood, rnd);
        Collections.shuffle(testGood, rnd);
        List<KolektorBenchmark.Item> train = new ArrayList<>(trainGood.subList(0, k));
        train.addAll(trainDefects);
        List<KolektorBenchmark.Item> test = new ArrayList<>(testGood.subList(0, Math.min(testGood.size(),
                testDefects.size())));
        test.addAll(testDefects);
        return new Split(train, test);
    }

    /** One package's figures on the test images; training seconds, cost and size are filled in later. */
    static final class Row {
        double trainSeconds;
        double fitSeconds;
        /** Verdict figures over all test images, then casting's, then KolektorSDD's; NaN for the product model. */
        double acc = Double.NaN;
        double balAcc = Double.NaN;
        double recall = Double.NaN;
        double frr = Double.NaN;
        double castingBalAcc = Double.NaN;
        double kolektorBalAcc = Double.NaN;
        double kolektorRecall = Double.NaN;
        double kolektorFrr = Double.NaN;
        double productAcc = Double.NaN;
        double ms = Double.NaN;
        double mib = Double.NaN;

        double[] values() {
            return new double[] {trainSeconds, fitSeconds, acc, balAcc, recall, frr, castingBalAcc, kolektorBalAcc,
                    kolektorRecall, kolektorFrr, productAcc, ms, mib};
        }
    }

    static final String[] COLUMNS = {"train s", "fit s", "acc", "balAcc", "recall", "FRR", "castBal", "kolBal",
        "kolRec", "kolFRR", "prodAcc", "ms/img", "MiB"};

    private final List<Row[]> draws = new ArrayList<>();

    void run(int firstDraw, int nDraws, TrainOptions base) throws IOException {
        List<KolektorBenchmark.Item> items = new KolektorBenchmark(backbone, kolektor, work, log).items();
        System.out.printf(Locale.ROOT, "multi-task heads: one model with heads product (casting|kolektor) and verdict"
                + " (ok|defective) against two separate models (verdict; product) on the same %d images per"
                + " (product, verdict) cell; KolektorSDD defectives capped at %.0f%% of its %d, split by commutator;"
                + " casting test: %s; packages as vigil train writes them (test-time augmentation over the 8"
                + " flips and turns inside the graph)%n", k, 100 * KOLEKTOR_TRAIN_SHARE,
                items.stream().filter(KolektorBenchmark.Item::defective).count(), castingTestPerClass == 0
                        ? "all of test/ (150 ok + 150 defective)" : "a seeded " + castingTestPerClass
                                + " per class of test/");
        System.out.println("acc/balAcc = verdict accuracy and balanced accuracy (argmax) over both products; recall/"
                + "FRR = defect recall and false-reject rate at the package's operating point (1-P(ok) >= its"
                + " threshold); castBal/kolBal/kolRec/kolFRR = the same per product; prodAcc = product accuracy;"
                + " train s = wall seconds of the training (the first of a draw also computes the prefix features),"
                + " fit s = the suffix's training alone; ms/img = ONNX Runtime, batch 1, median of "
                + COST_REPETITIONS + " interleaved passes over " + COST_IMAGES + " test images; MiB = model.onnx;"
                + " separate = verdict + product (figures from the model that owns them, costs summed)");
        System.out.printf("%4s %-9s %5s %5s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %7s %6s %5s%n", "draw", "model",
                "nTrain", "nTest", COLUMNS[0], COLUMNS[1], COLUMNS[2], COLUMNS[3], COLUMNS[4], COLUMNS[5],
                COLUMNS[6], COLUMNS[7], COLUMNS[8], COLUMNS[9], COLUMNS[10], COLUMNS[11], COLUMNS[12]);
        for (int d = firstDraw; d < firstDraw + nDraws; d++) {
            draws.add(runDraw(d, items, base.withSeed(base.seed() + d)));
        }
        summary();
    }

    private Row[] runDraw(int d, List<KolektorBenchmark.Item> items, TrainOptions options) throws IOException {
        Path dir = work.resolve("multitask-" + k + "-" + d);
        Folders.deleteTree(dir);
        Files.createDirectories(dir);
        // training and test images
        Path castTrain = dir.resolve("casting-train");
        TransferBenchmark.draw(casting.resolve("train"), d, List.of(new TransferBenchmark.Selection(castTrain, 0,
                k)));
        List<Image> train = new ArrayList<>(castingImages(castTrain, null, 0));
        List<Image> test = new ArrayList<>(castingImages(casting.resolve("test"), new Random(2000L + d),
                castingTestPerClass));
        Split ks = kolektorSplit(items, k, KOLEKTOR_TRAIN_SHARE, 1000L + d);
        ks.train().forEach(it -> train.add(new Image(it.file(), KOLEKTOR, it.defective())));
        ks.test().forEach(it -> test.add(new Image(it.file(), KOLEKTOR, it.defective())));
        progress("draw %d: %d training images (%s), %d test images (%s)", d, train.size(), counts(train), test.size(),
                counts(test));
        options = options.withGeometry(geometry(train));
        progress("draw %d: input %s for all three models", d, options.geometry());

        // the three packages, each from a label table with the same rows in the same order (the multi model's has
        // both columns, the separate models' one each): the listing order seeds the held-out split and the epochs'
        // shuffles, and on these ~180 images the order alone moves a model's verdict accuracy by up to 3 points, so
        // the models differ in their heads only. The order of training rotates with the draw so that no model
        // always pays the cold feature cache.
        Map<String, Path> tables = new LinkedHashMap<>();
        tables.put("multi", labelTable(train, dir.resolve("labels.csv"), true, true));
        tables.put("verdict", labelTable(train, dir.resolve("labels-verdict.csv"), false, true));
        tables.put("product", labelTable(train, dir.resolve("labels-product.csv"), true, false));
        Map<String, ModelPackage> pkgs = new LinkedHashMap<>();
        Row[] rows = new Row[MODELS.size()];
        for (int i = 0; i < MODELS.size(); i++) {
            String model = MODELS.get((i + d) % MODELS.size());
            int m = MODELS.indexOf(model);
            rows[m] = new Row();
            progress("draw %d: training the %s model", d, model);
            long t0 = System.nanoTime();
            LabelTable table = LabelTable.read(tables.get(model));
            Heads heads = Heads.of(table, model.equals("product") ? PRODUCT : Heads.DEFAULT_VERDICT);
            PackageTraining.Built built = PackageTraining.trainMultiTask(backbone, heads.dataset(table), heads,
                    options, work.resolve("features"), dir.resolve("pkg-" + model), log);
            rows[m].trainSeconds = (System.nanoTime() - t0) / 1e9;
            rows[m].fitSeconds = built.supervised().trainSeconds();
            pkgs.put(model, built.pkg());
            progress("draw %d: %s trained in %.0f s", d, model, rows[m].trainSeconds);
        }

        // measured with ONNX Runtime, reading the written packages
        try (Served multi = new Served(pkgs.get("multi"), true); Served verdict = new Served(pkgs.get("verdict"), false);
                Served product = new Served(pkgs.get("product"), false)) {
            List<Served> served = List.of(multi, verdict, product);
            for (int m = 0; m < served.size(); m++) {
                progress("draw %d: measuring the %s model on %d test images", d, MODELS.get(m), test.size());
                measure(served.get(m), test, rows[m]);
                rows[m].mib = Files.size(served.get(m).pkg.modelFile()) / (1024.0 * 1024.0);
            }
            progress("draw %d: serving cost", d);
            double[] ms = cost(served, costImages(test));
            for (int m = 0; m < served.size(); m++) {
                rows[m].ms = ms[m];
            }
        }
        StringBuilder desc = new StringBuilder("   # draw " + d + " inputs:");
        for (String model : MODELS) {
            ModelPackage p = pkgs.get(model);
            desc.append(String.format(Locale.ROOT, " %s %dx%d %s%s;", model, p.preprocessing().width(),
                    p.preprocessing().height(), p.preprocessing().fit().name().toLowerCase(Locale.ROOT),
                    p.defectMapTensor() == null ? "" : " +defect map"));
        }
        System.out.println(desc.substring(0, desc.length() - 1));
        Row separate = separate(rows[1], rows[2]);
        for (int m = 0; m < rows.length; m++) {
            print(Integer.toString(d), MODELS.get(m), train.size(), test.size(), rows[m].values());
        }
        print(Integer.toString(d), "separate", train.size(), test.size(), separate.values());
        System.out.flush();
        Folders.deleteTree(dir);
        return new Row[] {rows[0], rows[1], rows[2], separate};
    }

    /**
     * One input for the three models. The automatic choice looks at a seeded sample of 64 training images in the
     * dataset's order, which differs between the label table and the two folder layouts: with about as many
     * commutators (500x1247) as impellers (300x300) one model got 416x1024 and another 224x224 in the same draw.
     */
    private InputGeometry geometry(List<Image> train) {
        if (size != 0) {
            return InputGeometry.square(size);
        }
        Preprocessing p = InputGeometry.AUTO.resolve(backbone.preprocessing(), InputGeometry.measure(train.stream()
                .map(Image::file).toList()));
        return new InputGeometry(p.width(), p.height(), 0);
    }

    private static String counts(List<Image> images) {
        Map<String, Integer> n = new TreeMap<>();
        for (Image i : images) {
            n.merge(i.product() + "/" + i.verdict(), 1, Integer::sum);
        }
        return n.toString();
    }

    private static String csvCell(String s) {
        return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    /** The two separate models as one: the verdict figures of the verdict model, the product model's accuracy. */
    static Row separate(Row verdict, Row product) {
        Row s = new Row();
        s.trainSeconds = verdict.trainSeconds + product.trainSeconds;
        s.fitSeconds = verdict.fitSeconds + product.fitSeconds;
        s.acc = verdict.acc;
        s.balAcc = verdict.balAcc;
        s.recall = verdict.recall;
        s.frr = verdict.frr;
        s.castingBalAcc = verdict.castingBalAcc;
        s.kolektorBalAcc = verdict.kolektorBalAcc;
        s.kolektorRecall = verdict.kolektorRecall;
        s.kolektorFrr = verdict.kolektorFrr;
        s.productAcc = product.productAcc;
        s.ms = verdict.ms + product.ms;
        s.mib = verdict.mib + product.mib;
        return s;
    }

    /** The images of {@code root/{ok,defective}}: all, or a seeded {@code perClass} of each. */
    private static List<Image> castingImages(Path root, Random rnd, int perClass) throws IOException {
        List<Image> out = new ArrayList<>();
        for (String cls : List.of("defective", "ok")) {
            Path dir = root.resolve(cls);
            if (!Files.isDirectory(dir)) {
                throw new VigilException("--casting: missing " + dir + "; give the casting folder with"
                        + " {train,test}/{ok,defective}");
            }
            List<Path> files;
            try (Stream<Path> s = Files.list(dir)) {
                files = new ArrayList<>(s.filter(ImageDataset::isImageName).sorted().toList());
            }
            if (perClass > 0 && perClass < files.size()) {
                Collections.shuffle(files, rnd);
                files = files.subList(0, perClass);
            }
            files.forEach(f -> out.add(new Image(f, CASTING, cls.equals("defective"))));
        }
        return out;
    }

    /** A label table of {@code images} with a {@code product} column, a {@code verdict} column or both. */
    private static Path labelTable(List<Image> images, Path csv, boolean product, boolean verdict)
            throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("file" + (product ? "," + PRODUCT : "") + (verdict ? "," + Heads.DEFAULT_VERDICT : ""));
        for (Image img : images) {
            lines.add(csvCell(img.file().toAbsolutePath().toString()) + (product ? "," + img.product() : "")
                    + (verdict ? "," + img.verdict() : ""));
        }
        return Files.write(csv, lines);
    }

    /** A package's model in ONNX Runtime, as the service loads it; its outputs read by name. */
    static final class Served implements AutoCloseable {
        final ModelPackage pkg;
        final Preprocessing pre;
        final OrtSession session;
        private final OrtEnvironment env = OrtEnvironment.getEnvironment();
        /** The verdict probabilities' output and labels (null for the product model). */
        final String verdictTensor;
        final List<String> verdictLabels;
        /** The product probabilities' output and labels (null for the verdict model). */
        final String productTensor;
        final List<String> productLabels;

        Served(ModelPackage pkg, boolean multiTask) {
            this.pkg = pkg;
            this.pre = pkg.preprocessing();
            try {
                this.session = env.createSession(pkg.modelFile().toString(), FeatureExtractor.sessionOptions());
            } catch (OrtException e) {
                throw new VigilException("ONNX Runtime cannot load " + pkg.modelFile() + ": " + e.getMessage());
            }
            Manifest m = pkg.manifest();
            String probs = m.output() == null || m.output().tensor() == null ? session.getOutputNames().iterator()
                    .next() : m.output().tensor();
            if (multiTask) {
                Manifest.Head head = m.output().otherHeads().stream().filter(h -> h.name().equals(PRODUCT))
                        .findFirst().orElseThrow(() -> new VigilException(pkg.dir() + ": no product head"));
                verdictTensor = probs;
                verdictLabels = m.labels();
                productTensor = head.tensor();
                productLabels = head.labels();
            } else if (m.labels().contains(CASTING)) {
                verdictTensor = null;
                verdictLabels = null;
                productTensor = probs;
                productLabels = m.labels();
            } else {
                verdictTensor = probs;
                verdictLabels = m.labels();
                productTensor = null;
                productLabels = null;
            }
        }

        /** Every output of the model for a batch (as the service runs it), the wanted ones returned by name. */
        Map<String, float[][]> run(float[] batch, int count) {
            long[] shape = {count, 3, pre.height(), pre.width()};
            try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch, 0, count * pre.valuesPerImage()),
                    shape); OrtSession.Result r = session.run(Map.of(pkg.manifest().input().tensor(), in))) {
                Map<String, float[][]> out = new LinkedHashMap<>();
                for (String name : new String[] {verdictTensor, productTensor}) {
                    if (name != null) {
                        out.put(name, (float[][]) r.get(name).orElseThrow().getValue());
                    }
                }
                return out;
            } catch (OrtException e) {
                throw new IllegalStateException("ONNX Runtime failed on " + pkg.modelFile() + ": " + e.getMessage(), e);
            }
        }

        float[] preprocess(Path file) {
            return ImageIo.preprocess(ImageIo.read(file), pre, Variant.ORIGINAL, file.toString());
        }

        @Override
        public void close() {
            try {
                session.close();
            } catch (OrtException e) {
                // released anyway
            }
        }
    }

    /** Verdict and product figures of one package on {@code test}. */
    private static void measure(Served s, List<Image> test, Row row) {
        float[][] verdict = new float[test.size()][];
        float[][] product = new float[test.size()][];
        int per = s.pre.valuesPerImage();
        for (int start = 0; start < test.size(); start += 4) {
            int n = Math.min(4, test.size() - start);
            float[] x = new float[n * per];
            for (int i = 0; i < n; i++) {
                System.arraycopy(s.preprocess(test.get(start + i).file()), 0, x, i * per, per);
            }
            Map<String, float[][]> o = s.run(x, n);
            for (int i = 0; i < n; i++) {
                verdict[start + i] = s.verdictTensor == null ? null : o.get(s.verdictTensor)[i];
                product[start + i] = s.productTensor == null ? null : o.get(s.productTensor)[i];
            }
        }
        if (s.verdictTensor != null) {
            Metrics all = verdictMetrics(s, test, verdict, null);
            Metrics cast = verdictMetrics(s, test, verdict, CASTING);
            Metrics kol = verdictMetrics(s, test, verdict, KOLEKTOR);
            row.acc = all.accuracy();
            row.balAcc = all.balancedAccuracy();
            row.recall = all.defectRecall();
            row.frr = all.falseRejectRate();
            row.castingBalAcc = cast.balancedAccuracy();
            row.kolektorBalAcc = kol.balancedAccuracy();
            row.kolektorRecall = kol.defectRecall();
            row.kolektorFrr = kol.falseRejectRate();
        }
        if (s.productTensor != null) {
            int correct = 0;
            for (int i = 0; i < test.size(); i++) {
                correct += s.productLabels.get(Metrics.argmax(product[i])).equals(test.get(i).product()) ? 1 : 0;
            }
            row.productAcc = correct / (double) test.size();
        }
    }

    /** The verdict figures over the test images of {@code product} (null: all). */
    private static Metrics verdictMetrics(Served s, List<Image> test, float[][] probs, String product) {
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < test.size(); i++) {
            if (product == null || test.get(i).product().equals(product)) {
                idx.add(i);
            }
        }
        int[] truth = new int[idx.size()];
        float[][] p = new float[idx.size()][];
        for (int j = 0; j < idx.size(); j++) {
            Image img = test.get(idx.get(j));
            truth[j] = s.verdictLabels.indexOf(img.verdict());
            if (truth[j] < 0) {
                throw new VigilException(s.pkg.dir() + ": the verdict labels " + s.verdictLabels + " lack '"
                        + img.verdict() + "'");
            }
            p[j] = probs[idx.get(j)];
        }
        return Metrics.of(s.verdictLabels, truth, p, s.pkg.okIndex(), s.pkg.defectThreshold());
    }

    /** Half casting, half KolektorSDD test images (the first of each in the test list's order). */
    private static List<Image> costImages(List<Image> test) {
        List<Image> out = new ArrayList<>();
        for (String product : List.of(CASTING, KOLEKTOR)) {
            test.stream().filter(i -> i.product().equals(product)).limit(COST_IMAGES / 2).forEach(out::add);
        }
        return out;
    }

    /**
     * Milliseconds per image of ONNX Runtime inference, batch 1, for each model: a warm-up, then
     * {@link #COST_REPETITIONS} passes over the images in which the models take turns (the one that starts rotates),
     * median over the passes. Preprocessing is done beforehand and not counted.
     */
    static double[] cost(List<Served> models, List<Image> images) {
        List<float[][]> inputs = new ArrayList<>();
        for (Served s : models) {
            float[][] x = new float[images.size()][];
            for (int i = 0; i < images.size(); i++) {
                x[i] = s.preprocess(images.get(i).file());
            }
            inputs.add(x);
        }
        for (int w = 0; w < COST_WARMUP; w++) {
            for (int m = 0; m < models.size(); m++) {
                models.get(m).run(inputs.get(m)[w % images.size()], 1);
            }
        }
        double[][] ms = new double[models.size()][COST_REPETITIONS];
        for (int r = 0; r < COST_REPETITIONS; r++) {
            for (int j = 0; j < models.size(); j++) {
                int m = (j + r) % models.size();
                long t0 = System.nanoTime();
                for (float[] x : inputs.get(m)) {
                    models.get(m).run(x, 1);
                }
                ms[m][r] = (System.nanoTime() - t0) / 1e6 / images.size();
            }
        }
        double[] out = new double[models.size()];
        for (int m = 0; m < models.size(); m++) {
            out[m] = median(ms[m]);
        }
        return out;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static void print(String draw, String model, int nTrain, int nTest, double[] v) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%4s %-9s %5d %5d", draw, model, nTrain,
                nTest));
        for (int i = 0; i < v.length; i++) {
            String f = i < 2 ? "%.1f" : i == 11 ? "%.2f" : i == 12 ? "%.2f" : "%.4f";
            int w = i == 12 ? 5 : i == 11 ? 6 : 7;
            b.append(' ').append(String.format(Locale.ROOT, "%" + w + "s", Double.isNaN(v[i]) ? "-"
                    : String.format(Locale.ROOT, f, v[i])));
        }
        System.out.println(b);
    }

    private static void progress(String format, Object... args) {
        System.err.printf(Locale.ROOT, "multitask: " + format + "%n", args);
    }

    /** Mean, standard deviation and worst (smallest) value over the draws, and the multi − separate differences. */
    private void summary() {
        int n = draws.size();
        System.out.println();
        System.out.println("summary over " + n + " draw" + (n == 1 ? "" : "s") + ": mean, sd and min (worst draw) of"
                + " each figure; diff = multi - separate in points (mean and range over the draws); costs: mean,"
                + " ratio = multi / separate");
        System.out.printf("%-9s %-26s %-26s %s%n", "figure", "multi  mean    sd     min", "separate  mean    sd   "
                + "  min", "diff (points)");
        for (int c = 2; c <= 10; c++) {
            double[] multi = column(0, c);
            double[] sep = column(3, c);
            double[] diff = new double[n];
            for (int d = 0; d < n; d++) {
                diff[d] = 100 * (multi[d] - sep[d]);
            }
            System.out.printf(Locale.ROOT, "%-9s %s  %s  %+6.2f (%+.2f..%+.2f)%n", COLUMNS[c], stats(multi),
                    stats(sep), mean(diff), min(diff), max(diff));
        }
        for (int c : new int[] {0, 1, 11, 12}) {
            double[] multi = column(0, c);
            double[] sep = column(3, c);
            double[] ratio = new double[n];
            for (int d = 0; d < n; d++) {
                ratio[d] = multi[d] / sep[d];
            }
            System.out.printf(Locale.ROOT, "%-9s multi %8.2f  separate %8.2f (verdict %.2f + product %.2f)  ratio"
                    + " %.2f (%.2f..%.2f)%n", COLUMNS[c], mean(multi), mean(sep), mean(column(1, c)),
                    mean(column(2, c)), mean(ratio), min(ratio), max(ratio));
        }
    }

    private double[] column(int model, int c) {
        return draws.stream().mapToDouble(r -> r[model].values()[c]).toArray();
    }

    private static String stats(double[] v) {
        return String.format(Locale.ROOT, "%7.4f %7.4f %7.4f", mean(v), sd(v), min(v));
    }

    static double mean(double[] v) {
        return Arrays.stream(v).filter(x -> !Double.isNaN(x)).average().orElse(Double.NaN);
    }

    static double sd(double[] v) {
        double[] f = Arrays.stream(v).filter(x -> !Double.isNaN(x)).toArray();
        double m = mean(f);
        return f.length < 2 ? Double.NaN : Math.sqrt(Arrays.stream(f).map(x -> (x - m) * (x - m)).sum()
                / (f.length - 1));
    }

    private static double min(double[] v) {
        return Arrays.stream(v).filter(x -> !Double.isNaN(x)).min().orElse(Double.NaN);
    }

    private static double max(double[] v) {
        return Arrays.stream(v).filter(x -> !Double.isNaN(x)).max().orElse(Double.NaN);
    }
}
