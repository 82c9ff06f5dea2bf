package dev.vigil.trainer.features;

import static dev.vigil.trainer.onnx.GraphBuilder.intAttr;
import static dev.vigil.trainer.onnx.GraphBuilder.intsAttr;
import static dev.vigil.trainer.onnx.GraphBuilder.node;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.core.VigilException;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.trainer.onnx.GraphBuilder;
import dev.vigil.trainer.onnx.GraphSurgery;
import dev.vigil.trainer.onnx.OnnxGraph;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Patch features: the tapped feature maps of the frozen prefix brought to one grid (the coarsest tap's, finer maps
 * averaged over {@code f x f} cells) and stacked along the channels, so every grid cell has one vector that
 * describes a patch of the part at several depths. The patch head scores each cell; the anomaly model compares each
 * cell with a memory of good parts. The same ONNX nodes run in the feature extractor and in the exported model.
 */
public final class PatchFeatures {
    /** The name of the stacked patch-feature tensor {@code [N, C, h, w]}. */
    public static final String TENSOR = "vigil_patch";

    private PatchFeatures() {}

    /**
     * Where each tap goes on the common grid.
     *
     * @param taps float tensor names of the taps, in stacking order
     * @param shapes CHW of each tap at this input size
     * @param factors cells of the tap averaged into one grid cell, per side (1 = already on the grid)
     * @param pads extra cells at the bottom and right edge so the averaged map matches the grid exactly
     */
    public record Layout(List<String> taps, List<long[]> shapes, int[] factors, int[][] pads, int gridHeight,
            int gridWidth, int channels) {
        public Layout {
            taps = List.copyOf(taps);
            shapes = List.copyOf(shapes);
        }

        /** CHW of the stacked tensor. */
        public long[] shape() {
            return new long[] {channels, gridHeight, gridWidth};
        }
    }

    /** Measures the taps' shapes on {@code pre}'s input size (one forward pass of zeros) and lays out the grid. */
    public static Layout layout(OnnxGraph backbone, Preprocessing pre, List<String> taps) {
        OnnxGraph prefix = GraphSurgery.prefix(backbone, pre.height(), pre.width(), taps);
        List<String> names = taps.stream().map(t -> GraphSurgery.floatName(backbone, t)).toList();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<long[]> shapes = new ArrayList<>();
        try (OrtSession s = env.createSession(prefix.toBytes(), FeatureExtractor.sessionOptions());
                OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[pre.valuesPerImage()]),
                        new long[] {1, 3, pre.height(), pre.width()});
                OrtSession.Result r = s.run(Map.of(backbone.inputName(), in))) {
            for (String n : names) {
                long[] sh = ((OnnxTensor) r.get(n).orElseThrow()).getInfo().getShape();
                shapes.add(new long[] {sh[1], sh[2], sh[3]});
            }
        } catch (OrtException e) {
            throw new VigilException("the backbone cannot take a " + pre.width() + "x" + pre.height() + " input ("
                    + e.getMessage() + "); give another --input or --long-side");
        }
        return layout(names, shapes);
    }

    /** Lays out taps of the given CHW shapes on the coarsest tap's grid. */
    public static Layout layout(List<String> names, List<long[]> shapes) {
        int gh = Integer.MAX_VALUE;
        int gw = Integer.MAX_VALUE;
        for (long[] s : shapes) {
            if (s[1] < 1 || s[2] < 1) {
                throw new VigilException("a tapped feature map is empty at this input size; give a larger --input");
            }
            gh = (int) Math.min(gh, s[1]);
            gw = (int) Math.min(gw, s[2]);
        }
        int[] factors = new int[shapes.size()];
        int[][] pads = new int[shapes.size()][];
        int channels = 0;
        for (int i = 0; i < shapes.size(); i++) {
            long[] s = shapes.get(i);
            channels += (int) s[0];
            int f = (int) Math.max(1, Math.round(s[1] / (double) gh));
            int ph = padFor((int) s[1], gh, f);
            int pw = padFor((int) s[2], gw, f);
            if (ph < 0 || pw < 0 || Math.round(s[2] / (double) gw) != f) {
                throw new VigilException("tap " + names.get(i) + " (" + s[1] + "x" + s[2] + ") does not line up with"
                        + " the " + gh + "x" + gw + " grid of the deepest tap; choose other --taps");
            }
            factors[i] = f;
            pads[i] = new int[] {ph, pw};
        }
        return new Layout(names, shapes, factors, pads, gh, gw, channels);
    }

    /**
     * The padding at the end that makes an {@code f x f}, stride-{@code f} average pool of {@code size} cells give
     * exactly {@code grid} cells (a last incomplete cell is dropped or averaged over what it has); -1 if none does.
     */
    static int padFor(int size, int grid, int f) {
        for (int p = 0; p < f; p++) {
            if ((size + p - f) / f + 1 == grid) {
                return p;
            }
        }
        return -1;
    }

    /** The nodes that turn the float taps into {@link #TENSOR}. */
    public static List<NodeProto> nodes(Layout layout) {
        List<NodeProto> out = new ArrayList<>();
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < layout.taps().size(); i++) {
            String tap = layout.taps().get(i);
            int f = layout.factors()[i];
            if (f == 1) {
                parts.add(tap);
                continue;
            }
            String name = "vigil_patch_tap" + i;
            out.add(node("AveragePool", name, List.of(tap), List.of(name), intsAttr("kernel_shape", f, f),
                    intsAttr("strides", f, f), intsAttr("pads", 0, 0, layout.pads()[i][0], layout.pads()[i][1])));
            parts.add(name);
        }
        out.add(parts.size() == 1 ? node("Identity", TENSOR, parts, List.of(TENSOR))
                : node("Concat", TENSOR, parts, List.of(TENSOR), intAttr("axis", 1)));
        return out;
    }

    /** A model from the image batch to {@link #TENSOR}. */
    public static OnnxGraph graph(OnnxGraph backbone, Preprocessing pre, Layout layout, List<String> taps) {
        OnnxGraph prefix = GraphSurgery.prefix(backbone, pre.height(), pre.width(), taps);
        GraphBuilder b = new GraphBuilder(prefix.model()).name("vigil-patch-features");
        b.nodes(prefix.nodes()).nodes(nodes(layout));
        prefix.initializers().values().forEach(b::initializer);
        b.input(OnnxGraph.floatValueInfo(backbone.inputName(), 0, 3, pre.height(), pre.width()));
        b.output(OnnxGraph.floatValueInfo(TENSOR, 0, layout.channels(), layout.gridHeight(), layout.gridWidth()));
        return b.build();
    }
}
