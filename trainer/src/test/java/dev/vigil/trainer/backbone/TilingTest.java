package dev.vigil.trainer.backbone;

import dev.vigil.core.image.ColorOrder;
import dev.vigil.core.image.Preprocessing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.core.VigilException;
import dev.vigil.trainer.onnx.GraphSurgery;
import dev.vigil.trainer.onnx.OnnxGraph;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The tiled SqueezeNet against the whole canvas: the same maps, the same size, apart from the seams. */
class TilingTest {

    @Test
    void neighboursSplitWhatTheyShareAtTheMiddle() {
        // tiles start every 30 cells and are 33 long: cells 30..32 are shared by tiles 0 and 1
        long[][] c = Tiling.cores(3, 30, 33);
        assertArrayEquals(new long[] {0, 31}, c[0]);
        assertArrayEquals(new long[] {1, 31}, c[1]); // whole-map cells 31..60
        assertArrayEquals(new long[] {1, 33}, c[2]); // whole-map cells 61..92
        // together: 93 cells = 2 * 30 + 33, each once
        assertEquals(93, (c[0][1] - c[0][0]) + (c[1][1] - c[1][0]) + (c[2][1] - c[2][0]));
    }

    @Test
    void theCanvasIsCoveredExactlyByTilesOfAlignedSides() {
        Tiling t = new Tiling(2, 1, 64);
        Preprocessing pre = new Preprocessing(1000, 250, ColorOrder.RGB, 1f, new float[3],
                new float[] {1, 1, 1}, Preprocessing.Fit.LETTERBOX);
        assertEquals(544, t.tileWidth(1000));
        Preprocessing canvas = t.canvas(pre);
        assertEquals(2 * 544 - 64, canvas.width());
        assertEquals(256, canvas.height());
        assertThrows(VigilException.class, () -> new Tiling(1, 1, 64));
        assertThrows(VigilException.class, () -> new Tiling(2, 1, 50));
        VigilException e = assertThrows(VigilException.class, () -> Tiling.parse("2by1", 64));
        assertEquals("--tiles '2by1' is not COLSxROWS; give e.g. --tiles 2x1", e.getMessage());
    }

    @Test
    void stitchedMapsMatchTheWholeCanvasAwayFromTheSeams() throws Exception {
        Backbone bb = new BackboneResolver(java.nio.file.Files.createTempDirectory("tiling-models"), s -> { })
                .resolve(SharedAssets.squeezenet().toString());
        Tiling t = new Tiling(2, 2, 64);
        Preprocessing canvas = t.canvas(bb.preprocessing().withGeometry(1000, 500, Preprocessing.Fit.LETTERBOX));
        Backbone tiled = t.tile(bb, canvas);
        float[] x = new float[3 * canvas.width() * canvas.height()];
        Random r = new Random(3);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        for (int back : List.of(0, 4, 6)) {
            String tap = bb.anatomy().blockBack(back);
            float[][] whole = run(bb.graph(), canvas, tap, x);
            float[][] stitched = run(tiled.graph(), canvas, tap, x);
            assertArrayEquals(whole[0], stitched[0], "shape of " + tap);
            int c = (int) whole[0][1];
            int h = (int) whole[0][2];
            int w = (int) whole[0][3];
            // the top-left corner is far from both seams: identical there
            int margin = Math.max(1, w / 6);
            double worstFar = 0;
            double sumAll = 0;
            double sumAbs = 0;
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < h; i++) {
                    for (int j = 0; j < w; j++) {
                        int at = (ch * h + i) * w + j;
                        double d = Math.abs(whole[1][at] - stitched[1][at]);
                        sumAll += d;
                        sumAbs += Math.abs(whole[1][at]);
                        if (i < margin && j < margin) {
                            worstFar = Math.max(worstFar, d);
                        }
                    }
                }
            }
            System.out.printf(java.util.Locale.ROOT, "tiles 2x2 on %s (%dx%d cells): corner max diff %.2e, mean"
                    + " relative diff %.4f%n", tap, w, h, worstFar, sumAll / sumAbs);
            assertTrue(worstFar < 1e-3, tap + ": corner differs by " + worstFar);
            // measured: fire3 and fire5 identical everywhere (64 px of overlap covers their reach), fire9 5% off
            // near the seams
            assertTrue(sumAll / sumAbs < 0.1, tap + ": maps differ by " + sumAll / sumAbs + " on average");
        }
    }

    @Test
    void aTiledPackageTrainsExportsAndAgreesWithTheTrainer(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        Backbone bb = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(
                SharedAssets.squeezenet().toString());
        java.nio.file.Path data = SharedAssets.subset(SharedAssets.casting().resolve("train"), tmp.resolve("data"), 0,
                15);
        var geometry = new dev.vigil.trainer.train.InputGeometry(448, 224, 0).withTiles(new Tiling(2, 1, 64));
        dev.vigil.core.model.ModelPackage pkg;
        try (var t = new dev.vigil.trainer.train.TransferTrainer(bb, dev.vigil.trainer.data.ImageDataset.scan(data, 2),
                dev.vigil.trainer.train.TrainOptions.defaults().withGeometry(geometry).withUnfreeze(0).withEpochs(5)
                        .withFolds(2).withLearningCurve(false), tmp.resolve("features"),
                new java.io.PrintStream(java.io.OutputStream.nullOutputStream()))) {
            t.train();
            pkg = new dev.vigil.trainer.model.ModelExporter(t).write(tmp.resolve("pkg"));
        }
        var in = pkg.manifest().input();
        assertEquals(2 * 256 - 64, in.width(), "the canvas two 256 px tiles with 64 px in common cover");
        assertEquals(224, in.height());
        assertEquals(new dev.vigil.core.model.Manifest.Tiles(2, 1, 64, 256, 224), in.tiles());
        var report = dev.vigil.core.model.ModelPackage.json().readTree(pkg.dir().resolve("report.json").toFile());
        assertTrue(report.at("/verification/maxAbsDiff").asDouble() <= 1e-4, report.at("/verification").toString());
        assertTrue(report.at("/verification/maxDefectMapDiff").asDouble() <= 1e-4,
                report.at("/verification").toString());
        // the graph slices its own input: a reader feeds the whole canvas, as for any package
        OnnxGraph g = OnnxGraph.load(pkg.dir().resolve("model.onnx"));
        assertTrue(g.nodes().stream().anyMatch(n -> n.getOutputList().contains("vigil_tiles")));
        var o = dev.vigil.trainer.eval.Evaluation.run(pkg, dev.vigil.trainer.data.ImageDataset.scan(
                SharedAssets.subset(SharedAssets.casting().resolve("test"), tmp.resolve("test"), 0, 10), 1),
                new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        assertEquals(20, o.metrics().count());
        assertTrue(o.auroc() >= 0.8, "AUROC " + o.auroc());
    }

    /** {shape, values} of {@code tensor} for input {@code x}. */
    private static float[][] run(OnnxGraph g, Preprocessing pre, String tensor, float[] x) throws Exception {
        OnnxGraph prefix = GraphSurgery.prefix(g, pre.height(), pre.width(), List.of(tensor));
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(prefix.toBytes(), new OrtSession.SessionOptions());
                OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x),
                        new long[] {1, 3, pre.height(), pre.width()});
                OrtSession.Result r = s.run(Map.of(g.inputName(), in))) {
            OnnxTensor out = (OnnxTensor) r.get(tensor).orElseThrow();
            long[] sh = out.getInfo().getShape();
            FloatBuffer fb = out.getFloatBuffer();
            float[] v = new float[fb.remaining()];
            fb.get(v);
            float[] shape = new float[sh.length];
            for (int i = 0; i < sh.length; i++) {
                shape[i] = sh[i];
            }
            return new float[][] {shape, v};
        }
    }
}
