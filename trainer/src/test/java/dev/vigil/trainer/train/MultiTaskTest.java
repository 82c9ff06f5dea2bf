package dev.vigil.trainer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.vigil.core.VigilException;
import dev.vigil.core.image.ImageIo;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.image.Variant;
import dev.vigil.core.model.Manifest;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.data.LabelTable;
import dev.vigil.trainer.eval.Metrics;
import dev.vigil.trainer.features.PoolMode;
import dev.vigil.trainer.model.ModelExporter;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Multi-task heads on one backbone ({@code --labels}): a {@code product} head (casting impeller or KolektorSDD
 * commutator) and a {@code verdict} head (ok or defective) on real images, some cells left empty. SqueezeNet at 64 px
 * with one trained block (the shared suffix), so each run takes seconds.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MultiTaskTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @TempDir
    static Path tmp;

    private Backbone squeezenet;
    private Path csv;
    /** Rows whose product cell is empty, and rows whose verdict cell is empty. */
    private final List<Path> noProduct = new ArrayList<>();
    private final List<Path> noVerdict = new ArrayList<>();

    @BeforeAll
    void data() throws Exception {
        squeezenet = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(
                SharedAssets.squeezenet().toString());
        List<String> lines = new ArrayList<>(List.of("file,product,verdict"));
        add(lines, SharedAssets.casting().resolve("train"), "casting", 10);
        add(lines, SharedAssets.kolektor().resolve("train"), "kolektor", 8);
        csv = tmp.resolve("labels.csv");
        Files.write(csv, lines);
    }

    /** {@code per} images of each of ok and defective under {@code split}; a few cells left empty. */
    private void add(List<String> lines, Path split, String product, int per) throws Exception {
        for (String verdict : List.of("ok", "defective")) {
            List<Path> images;
            try (Stream<Path> s = Files.list(split.resolve(verdict))) {
                images = s.sorted().limit(per).toList();
            }
            for (int i = 0; i < images.size(); i++) {
                Path img = images.get(i);
                boolean blankProduct = product.equals("casting") && i < 2;
                boolean blankVerdict = product.equals("kolektor") && i == 0;
                if (blankProduct) {
                    noProduct.add(img);
                }
                if (blankVerdict) {
                    noVerdict.add(img);
                }
                lines.add(img + "," + (blankProduct ? "" : product) + "," + (blankVerdict ? "" : verdict));
            }
        }
    }

    private static TrainOptions small() {
        return TrainOptions.defaults().withHead(64, List.of(0, 4), PoolMode.AVGMAX)
                .withAugment(List.of(Variant.ORIGINAL, Variant.HFLIP)).withTta(true).withFolds(0)
                .withRefit(false).withUnfreeze(1).withEpochs(4);
    }

    @Test
    void twoHeadsTrainOnOneSuffixAndExportOneOutputEachThatOnnxRuntimeAgreesWith() throws Exception {
        LabelTable table = LabelTable.read(csv);
        Heads heads = Heads.of(table, null);
        assertEquals(List.of("product", "verdict"), heads.names());
        assertEquals(1, heads.verdict(), "the head named verdict decides by default");
        assertEquals(4, heads.width());
        ImageDataset ds = heads.dataset(table);
        assertEquals(List.of("defective", "ok"), ds.classes());
        try (TransferTrainer t = new TransferTrainer(squeezenet, ds, small(), tmp.resolve("cache"), QUIET, heads)) {
            t.train();
            assertEquals(1, t.plan().unfreeze(), "one shared block trains");
            assertEquals(4, t.network().headWeight().getArray().getShape().get(0), "one layer gives both heads");
            // the verdict's figures leave out the images whose verdict is unknown
            for (var img : t.outOfFold().images()) {
                assertTrue(!noVerdict.contains(img.path()), img.path() + " has no verdict but was scored");
            }
            Map<String, Metrics> perHead = t.headMetrics();
            assertEquals(List.of("product", "verdict"), List.copyOf(perHead.keySet()));
            // a casting impeller and a commutator look nothing alike: the product head must have learnt them
            assertTrue(perHead.get("product").accuracy() >= 0.9, "product accuracy " + perHead.get("product"));

            ModelPackage pkg = new ModelExporter(t).write(tmp.resolve("pkg"));
            Manifest m = pkg.manifest();
            assertEquals("verdict", m.output().verdictHead());
            assertEquals(List.of("defective", "ok"), m.labels());
            assertEquals("ok", m.okLabel());
            assertEquals(List.of("product", "verdict"), m.output().heads().stream().map(Manifest.Head::name).toList());
            assertEquals("probabilities_product", m.output().heads().get(0).tensor());
            assertEquals(ModelExporter.OUTPUT, m.output().heads().get(1).tensor());
            assertEquals(List.of("casting", "kolektor"), m.output().heads().get(0).labels());
            assertEquals(1, m.output().otherHeads().size());
            assertNotNull(m.output().drift(), "the drift reference is the verdict head's");
            assertNotNull(m.metrics().get("heads"));

            // ONNX Runtime, reading the package as the service does: every head's output, each a distribution,
            // equal to the trainer's (test-time augmentation inside the graph) on images it never trained on
            List<Path> unseen = new ArrayList<>();
            try (Stream<Path> s = Files.list(SharedAssets.kolektor().resolve("test").resolve("ok"))) {
                s.sorted().limit(2).forEach(unseen::add);
            }
            try (Stream<Path> s = Files.list(SharedAssets.casting().resolve("test").resolve("ok"))) {
                s.sorted().limit(2).forEach(unseen::add);
            }
            Preprocessing pre = pkg.preprocessing();
            float[] batch = new float[unseen.size() * pre.valuesPerImage()];
            for (int i = 0; i < unseen.size(); i++) {
                float[] x = ImageIo.preprocess(ImageIo.read(unseen.get(i)), pre, Variant.ORIGINAL, unseen.toString());
                System.arraycopy(x, 0, batch, i * pre.valuesPerImage(), x.length);
            }
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession session = env.createSession(pkg.modelFile().toString());
                    OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch),
                            new long[] {unseen.size(), 3, pre.height(), pre.width()});
                    OrtSession.Result r = session.run(Map.of(m.input().tensor(), in))) {
                float[][] product = (float[][]) r.get("probabilities_product").orElseThrow().getValue();
                float[][] verdict = (float[][]) r.get(ModelExporter.OUTPUT).orElseThrow().getValue();
                for (int i = 0; i < unseen.size(); i++) {
                    assertEquals(1.0, product[i][0] + product[i][1], 1e-4);
                    assertEquals(1.0, verdict[i][0] + verdict[i][1], 1e-4);
                }
                // vigil classify's reader gives the same heads by name
                try (var clf = new dev.vigil.trainer.model.OrtClassifier(pkg)) {
                    var outs = clf.runAll(batch, unseen.size());
                    assertEquals(List.of("product"), List.copyOf(outs.heads().keySet()));
                    assertEquals(product[3][1], outs.heads().get("product")[3][1], 1e-6);
                }
                // the commutators first, then the impellers
                assertTrue(product[0][1] > 0.5 && product[1][1] > 0.5, "kolektor images read as kolektor");
                assertTrue(product[2][0] > 0.5 && product[3][0] > 0.5, "casting images read as casting");
            }
            // unlabelled adaptation keeps every head (their standardisation is shared); --labelled is refused
            var adapted = new dev.vigil.trainer.adapt.Adaptation(pkg, dev.vigil.trainer.adapt.Adaptation.Options
                    .defaults().withReference("all"), QUIET).adapt(unseen, null, tmp.resolve("adapted"));
            assertEquals(m.output().heads(), adapted.pkg().manifest().output().heads());
            assertEquals(pkg.manifest().id(), adapted.pkg().manifest().output().drift().adaptedFrom());
            VigilException refused = assertThrows(VigilException.class, () -> new dev.vigil.trainer.adapt.Adaptation(
                    pkg, dev.vigil.trainer.adapt.Adaptation.Options.defaults(), QUIET).adapt(unseen, ds,
                            tmp.resolve("tuned")));
            assertTrue(refused.getMessage().contains("multi-task"), refused.getMessage());
        }
    }

    @Test
    void imagesWithoutAVerdictDoNotLimitTheFoldsAndAreNotScored() throws Exception {
        LabelTable table = LabelTable.read(csv);
        Heads heads = Heads.of(table, null);
        // two images have no verdict: as a stratum of their own they would allow 2 folds at most
        try (TransferTrainer t = new TransferTrainer(squeezenet, heads.dataset(table), small().withFolds(3)
                .withEpochs(2), tmp.resolve("cache"), QUIET, heads)) {
            t.train();
            assertEquals(3, t.result().calibration().folds(), "cross-validated with the folds asked for");
            assertEquals(null, t.result().learningCurve(), "the learning curve is the single classifier's");
            assertTrue(t.outOfFold().crossValidated());
            assertEquals(table.rows().size() - noVerdict.size(), t.outOfFold().images().size(),
                    "every image with a verdict is scored out of fold, the others not");
            assertEquals(table.labelled(0), t.headMetrics().get("product").count(),
                    "every image with a product is scored for the product head");
        }
    }

    @Test
    void emptyCellsAreMaskedOutOfTheirHeadsClassWeights() {
        Heads heads = Heads.of(LabelTable.read(csv), null);
        int[][] rows = {{0, 1}, {-1, 1}, {1, 0}, {1, -1}};
        float[][] w = heads.classWeights(rows);
        // product: one casting, two kolektor known -> 3/(2*1), 3/(2*2); verdict: two ok, one defective
        assertEquals(1.5f, w[0][0], 1e-6);
        assertEquals(0.75f, w[0][1], 1e-6);
        assertEquals(1.5f, w[1][0], 1e-6);
        assertEquals(0.75f, w[1][1], 1e-6);
    }

    @Test
    void theVerdictHeadMustBeNamedWhenNoneIsCalledVerdict() throws Exception {
        Path other = tmp.resolve("other.csv");
        List<String> lines = new ArrayList<>(Files.readAllLines(csv));
        lines.set(0, "file,product,quality");
        Files.write(other, lines);
        LabelTable table = LabelTable.read(other);
        VigilException e = assertThrows(VigilException.class, () -> Heads.of(table, null));
        assertTrue(e.getMessage().contains("--verdict-head"), e.getMessage());
        e = assertThrows(VigilException.class, () -> Heads.of(table, "colour"));
        assertTrue(e.getMessage().contains("'colour' is not a head") && e.getMessage().contains("[product, quality]"),
                e.getMessage());
        assertEquals(1, Heads.of(table, "quality").verdict());
    }
}
