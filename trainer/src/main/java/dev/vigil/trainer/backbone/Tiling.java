package dev.vigil.trainer.backbone;

import dev.vigil.core.image.Preprocessing;

import static dev.vigil.trainer.onnx.GraphBuilder.intAttr;
import static dev.vigil.trainer.onnx.GraphBuilder.intsAttr;
import static dev.vigil.trainer.onnx.GraphBuilder.node;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.core.VigilException;
import dev.vigil.trainer.onnx.GraphBuilder;
import dev.vigil.trainer.onnx.GraphSurgery;
import dev.vigil.trainer.onnx.OnnxGraph;
import dev.vigil.trainer.onnx.OnnxTensors;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Tiles with overlap ({@code --tiles CxR}): the network input (the "canvas", letterboxed as always) is cut into
 * {@code cols x rows} tiles that overlap by {@code overlap} pixels, the backbone runs on the tiles as one batch, and
 * every block's feature map is stitched back into one map of the whole canvas — each tile keeps its cells away from
 * the seams, the overlap's cells split between the two tiles beside it. Everything after the backbone (pooling, the
 * patch grid, the anomaly memory, the defect map) reads the stitched maps, so it is the same code with or without
 * tiles.
 *
 * <p>{@link #tile} rewrites the backbone graph itself: a front of Slice nodes and a Concat makes the batch of tiles;
 * each block tensor {@code X} is renamed {@code X_tile} inside the backbone and a stitch ({@code X_tile} → {@code X})
 * is added, so the names the trainer taps are unchanged. It runs in training (feature extraction) and inside every
 * exported graph, which start from the backbone graph. Float backbones, frozen prefix only ({@code --unfreeze 0}).
 *
 * <p>The backbones are fully convolutional, so tiling does not change what is computed far from a seam; what it
 * changes is that each tile is a separate image at the seams (zero padding at a tile's edge) — and it lets a frame
 * far larger than one forward pass should take be inspected at full resolution, tile by tile in one batch.
 *
 * @param cols tiles across
 * @param rows tiles down
 * @param overlap pixels two neighbouring tiles share (a multiple of {@value #ALIGN})
 */
public record Tiling(int cols, int rows, int overlap) {
    /** Tile sides and the overlap are multiples of this (every stride-2 stage then divides them evenly). */
    public static final int ALIGN = 32;
    public static final int MAX_TILES = 16;
    public static final int DEFAULT_OVERLAP = 64;

    public Tiling {
        if (cols < 1 || rows < 1 || cols * rows < 2 || cols * rows > MAX_TILES) {
            throw new VigilException(String.format(Locale.ROOT, "--tiles %dx%d: give between 2 and %d tiles, e.g."
                    + " --tiles 2x1", cols, rows, MAX_TILES));
        }
        if (overlap < 0 || overlap % ALIGN != 0) {
            throw new VigilException("--tile-overlap " + overlap + " must be 0 or a multiple of " + ALIGN
                    + " pixels (e.g. 64)");
        }
    }

    /** Parses {@code --tiles CxR}. */
    public static Tiling parse(String cxr, int overlap) {
        String[] p = cxr.trim().toLowerCase(Locale.ROOT).split("x");
        try {
            if (p.length == 2) {
                return new Tiling(Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim()), overlap);
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new VigilException("--tiles '" + cxr + "' is not COLSxROWS; give e.g. --tiles 2x1");
    }

    /** Width of one tile for a canvas about {@code width} wide. */
    public int tileWidth(int width) {
        return side(width, cols);
    }

    public int tileHeight(int height) {
        return side(height, rows);
    }

    private int side(int canvas, int n) {
        int s = (canvas + (n - 1) * overlap + n - 1) / n;
        s = (s + ALIGN - 1) / ALIGN * ALIGN;
        if (s <= overlap) {
            throw new VigilException("tiles of " + s + " px cannot overlap by " + overlap + " px; give a smaller"
                    + " --tile-overlap or fewer --tiles");
        }
        return s;
    }

    /** The canvas these tiles cover exactly, for an input about {@code pre}'s size. */
    public Preprocessing canvas(Preprocessing pre) {
        int tw = tileWidth(pre.width());
        int th = tileHeight(pre.height());
        return pre.withGeometry(cols * tw - (cols - 1) * overlap, rows * th - (rows - 1) * overlap, pre.fit());
    }

    @Override
    public String toString() {
        return cols + "x" + rows + " overlap " + overlap;
    }

    /**
     * The backbone with its graph tiled for input {@code canvas} (which {@link #canvas} gave). Its name, hash and
     * anatomy are the original's.
     */
    public Backbone tile(Backbone bb, Preprocessing canvas) {
        OnnxGraph g = bb.graph();
        if (g.nodes().stream().anyMatch(n -> n.getOpType().startsWith("QLinear") || n.getOpType().equals(
                "DequantizeLinear"))) {
            throw new VigilException("--tiles works on float backbones; " + bb.name() + " is quantized: give a float"
                    + " backbone (e.g. squeezenet1.1-fp16) or leave out --tiles");
        }
        int tw = tileWidth(canvas.width());
        int th = tileHeight(canvas.height());
        if (canvas(canvas).width() != canvas.width() || canvas(canvas).height() != canvas.height()) {
            throw new IllegalArgumentException("the canvas must come from canvas()");
        }
        List<String> blocks = bb.anatomy().blocks();
        List<long[]> shapes = shapes(g, blocks, tw, th);
        String input = g.inputName();
        String tiles = "vigil_tiles";
        GraphBuilder b = new GraphBuilder(g.model()).name(g.graph().getName() + "-tiled");
        b.input(OnnxGraph.floatValueInfo(input, 0, 3, canvas.height(), canvas.width()));
        long opset = b.opset();
        List<String> parts = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                String t = "vigil_tile_" + r + "_" + c;
                slice(b, opset, input, t, new long[] {r * (long) (th - overlap), c * (long) (tw - overlap)},
                        new long[] {r * (long) (th - overlap) + th, c * (long) (tw - overlap) + tw});
                parts.add(t);
            }
        }
        b.node(node("Concat", tiles, parts, List.of(tiles), intAttr("axis", 0)));
        Set<String> stitched = new HashSet<>(blocks);
        for (NodeProto n : g.nodes()) {
            NodeProto.Builder nb = n.toBuilder().clearInput().clearOutput();
            n.getInputList().forEach(i -> nb.addInput(i.equals(input) ? tiles : stitched.contains(i) ? i + "_tile" : i));
            n.getOutputList().forEach(o -> nb.addOutput(stitched.contains(o) ? o + "_tile" : o));
            b.node(nb.build());
        }
        g.initializers().values().forEach(b::initializer);
        for (int i = 0; i < blocks.size(); i++) {
            stitch(b, opset, blocks.get(i), shapes.get(i), tw, th);
        }
        GraphProto src = g.graph();
        src.getOutputList().forEach(b::output);
        return new Backbone(bb.name(), bb.file(), bb.sha256(), b.build(), bb.anatomy(), bb.preprocessing(),
                bb.fromCatalog());
    }

    /** CHW of each tensor for one tile (one forward pass of zeros). */
    private static List<long[]> shapes(OnnxGraph g, List<String> tensors, int tw, int th) {
        OnnxGraph prefix = GraphSurgery.prefix(g, th, tw, tensors);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<long[]> out = new ArrayList<>();
        try (OrtSession s = env.createSession(prefix.toBytes(), new OrtSession.SessionOptions());
                OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[3 * tw * th]),
                        new long[] {1, 3, th, tw});
                OrtSession.Result r = s.run(Map.of(g.inputName(), in))) {
            for (String t : tensors) {
                long[] sh = ((OnnxTensor) r.get(t).orElseThrow()).getInfo().getShape();
                out.add(new long[] {sh[1], sh[2], sh[3]});
            }
        } catch (OrtException e) {
            throw new VigilException("the backbone cannot take " + tw + "x" + th + " tiles (" + e.getMessage()
                    + "); give other --tiles or a larger input");
        }
        return out;
    }

    /**
     * {@code X_tile} [T*N, C, h, w] (tile-major) → {@code X} [N, C, H, W]. A map of stride {@code s} (the tile side
     * over the map side, a power of two) sees tile {@code c} start at cell {@code c (tw - overlap) / s} of the whole
     * map; two neighbouring tiles split the cells they share at the middle, so every cell of the whole map comes from
     * exactly one tile, the one it is farther inside of.
     */
    private void stitch(GraphBuilder b, long opset, String x, long[] shape, int tw, int th) {
        int h = (int) shape[1];
        int w = (int) shape[2];
        int sx = stride(tw, w, x);
        int sy = stride(th, h, x);
        long[][] cx = cores(cols, (tw - overlap) / sx, w);
        long[][] cy = cores(rows, (th - overlap) / sy, h);
        String p = x + "_stitch";
        b.initializer(OnnxTensors.longTensor(p + "_shape", new long[] {5}, new long[] {rows * cols, -1, shape[0], h,
                w}));
        b.node(node("Reshape", p + "_unstack", List.of(x + "_tile", p + "_shape"), List.of(p + "_tiles")));
        List<String> rowParts = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            List<String> colParts = new ArrayList<>();
            for (int c = 0; c < cols; c++) {
                int t = r * cols + c;
                String idx = p + "_i" + t;
                b.initializer(OnnxTensors.longTensor(idx, new long[0], new long[] {t}));
                b.node(node("Gather", p + "_g" + t, List.of(p + "_tiles", idx), List.of(p + "_t" + t),
                        intAttr("axis", 0)));
                String kept = p + "_k" + t;
                sliceHw(b, opset, p + "_t" + t, kept, new long[] {cy[r][0], cx[c][0]},
                        new long[] {cy[r][1], cx[c][1]});
                colParts.add(kept);
            }
            String row = p + "_row" + r;
            b.node(colParts.size() == 1 ? node("Identity", row, colParts, List.of(row))
                    : node("Concat", row, colParts, List.of(row), intAttr("axis", 3)));
            rowParts.add(row);
        }
        b.node(rowParts.size() == 1 ? node("Identity", p, rowParts, List.of(x))
                : node("Concat", p, rowParts, List.of(x), intAttr("axis", 2)));
    }

    /** The map's stride along one side: a power of two that divides the tile step. */
    private int stride(int tile, int cells, String x) {
        int s = Integer.highestOneBit(Math.max(1, (int) Math.round(tile / (double) cells)));
        if (Math.abs(tile / (double) s - cells) > 2 || (tile - overlap) % s != 0) {
            throw new VigilException("feature map " + x + " (" + cells + " cells over a " + tile + " px tile) has no"
                    + " power-of-two stride that divides the tile step; give another --tiles or --tile-overlap");
        }
        return s;
    }

    /**
     * Each of {@code n} tiles' kept cells {@code [from, to)} in its own map ({@code cells} long) when tile {@code i}
     * starts at cell {@code i * step} of the whole map: split at the middle of each shared stretch.
     */
    static long[][] cores(int n, int step, int cells) {
        long[][] out = new long[n][];
        long from = 0;
        for (int i = 0; i < n; i++) {
            long start = (long) i * step;
            long to = i == n - 1 ? start + cells : (start + step + start + cells) / 2;
            out[i] = new long[] {from - start, to - start};
            from = to;
        }
        return out;
    }

    /** Slice of axes 2 and 3 (height, width): as attributes before opset 10, as inputs from 10 on. */
    private static void slice(GraphBuilder b, long opset, String in, String out, long[] starts, long[] ends) {
        sliceHw(b, opset, in, out, starts, ends);
    }

    private static void sliceHw(GraphBuilder b, long opset, String in, String out, long[] starts, long[] ends) {
        if (opset >= 10) {
            b.initializer(OnnxTensors.longTensor(out + "_starts", new long[] {2}, starts));
            b.initializer(OnnxTensors.longTensor(out + "_ends", new long[] {2}, ends));
            b.initializer(OnnxTensors.longTensor(out + "_axes", new long[] {2}, new long[] {2, 3}));
            b.node(node("Slice", out, List.of(in, out + "_starts", out + "_ends", out + "_axes"), List.of(out)));
        } else {
            b.node(node("Slice", out, List.of(in), List.of(out), intsAttr("axes", 2, 3), intsAttr("starts", starts),
                    intsAttr("ends", ends)));
        }
    }

    /** How the manifest describes {@code t} over a {@code width x height} input; null for no tiling. */
    public static dev.vigil.core.model.Manifest.Tiles manifest(Tiling t, int width, int height) {
        return t == null ? null : new dev.vigil.core.model.Manifest.Tiles(t.cols(), t.rows(), t.overlap(),
                t.tileWidth(width), t.tileHeight(height));
    }
}
