package dev.vigil.trainer.anomaly;

import dev.vigil.core.model.Manifest;

import static dev.vigil.trainer.onnx.GraphBuilder.intAttr;
import static dev.vigil.trainer.onnx.GraphBuilder.intsAttr;
import static dev.vigil.trainer.onnx.GraphBuilder.node;

import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.trainer.features.PatchFeatures;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.trainer.onnx.GraphBuilder;
import dev.vigil.trainer.onnx.GraphSurgery;
import dev.vigil.trainer.onnx.OnnxGraph;
import dev.vigil.trainer.onnx.OnnxTensors;
import java.util.ArrayList;
import java.util.List;

/**
 * The ONNX graphs of an anomaly model. All of them start the same way — the backbone's frozen prefix, then
 * {@link PatchFeatures} (the taps on one grid, stacked), then a local average over each cell's neighbourhood
 * ({@value #LOCAL}) — so the features the memory is built from, the out-of-fold scores and the exported package
 * come from the very same nodes:
 *
 * <ul>
 *   <li>{@link #features}: {@value #LOCAL} and its random projection {@value #PROJECTED} (for the coreset);</li>
 *   <li>{@link #distances}: {@value #DISTANCE}, each cell's Euclidean distance to its nearest memory row;</li>
 *   <li>{@link #model}: the package — {@code defect_map = sigmoid((distance - t) / s)} per cell and
 *       {@code probabilities} [N,2] in label order, the anomaly class's probability being the worst cell's.</li>
 * </ul>
 *
 * <p>Distances are a 1x1 convolution with the memory as its weights ({@code -2 m}) and {@code ||m||^2} as its
 * bias — a matrix product that needs no reshaping, keeps the grid layout and is a plain GEMM to every ONNX Runtime
 * execution provider — then the minimum over the memory rows, plus {@code ||x||^2}, clamped at 0 and square-rooted.
 * The memory is split into chunks of {@value #MEMORY_CHUNK} rows, each reduced to its minimum at once, so the
 * largest intermediate is {@code cells x 1024} per image, not {@code cells x memory}. Only opset-7 operators are used.
 */
public final class AnomalyGraph {
    /** The locally averaged patch features {@code [N, C, h, w]}. */
    public static final String LOCAL = "vigil_patch_local";
    /** Their random projection {@code [N, P, h, w]}. */
    public static final String PROJECTED = "vigil_patch_projected";
    /** Each cell's distance to the nearest memory row {@code [N, 1, h, w]}. */
    public static final String DISTANCE = "vigil_distance_map";
    /** Each cell's calibrated logit {@code (distance - t) / s} {@code [N, 1, h, w]}. */
    public static final String LOGIT_MAP = "vigil_defect_logit";
    /** Memory rows per convolution (bounds the intermediate tensor). */
    public static final int MEMORY_CHUNK = 1024;

    private AnomalyGraph() {}

    /** Input → prefix → patch features → local average ({@value #LOCAL}). */
    private static GraphBuilder start(Backbone backbone, AnomalyPlan plan, String name) {
        OnnxGraph g = backbone.graph();
        Preprocessing pre = plan.preprocessing();
        GraphBuilder b = new GraphBuilder(g.model()).name(name);
        b.input(OnnxGraph.floatValueInfo(g.inputName(), 0, 3, pre.height(), pre.width()));
        b.nodes(GraphSurgery.ancestors(g, plan.taps())).nodes(GraphSurgery.dequantizers(g, plan.taps()));
        b.initializersUsedFrom(g);
        b.nodes(PatchFeatures.nodes(plan.layout()));
        int n = plan.neighbourhood();
        if (n == 1) {
            b.node(node("Identity", LOCAL, List.of(PatchFeatures.TENSOR), List.of(LOCAL)));
        } else {
            int pad = n / 2;
            b.node(node("AveragePool", LOCAL, List.of(PatchFeatures.TENSOR), List.of(LOCAL),
                    intsAttr("kernel_shape", n, n), intsAttr("strides", 1, 1), intsAttr("pads", pad, pad, pad, pad),
                    intAttr("count_include_pad", 0)));
        }
        return b;
    }

    private static long[] grid(AnomalyPlan plan, int channels) {
        return new long[] {0, channels, plan.layout().gridHeight(), plan.layout().gridWidth()};
    }

    /**
     * The features the memory is built from: {@value #LOCAL} and its projection by {@code projection}
     * ({@code [dims][C]}, row-major) as {@value #PROJECTED} (none when {@code projection} is null).
     */
    public static OnnxGraph features(Backbone backbone, AnomalyPlan plan, float[] projection, int dims) {
        GraphBuilder b = start(backbone, plan, "vigil-anomaly-features");
        if (projection == null) {
            b.output(OnnxGraph.floatValueInfo(LOCAL, grid(plan, plan.channels())));
            return b.build();
        }
        b.initializer(OnnxTensors.floatTensor("vigil_projection", new long[] {dims, plan.channels(), 1, 1},
                projection));
        b.node(node("Conv", PROJECTED, List.of(LOCAL, "vigil_projection"), List.of(PROJECTED),
                intsAttr("kernel_shape", 1, 1)));
        b.output(OnnxGraph.floatValueInfo(LOCAL, grid(plan, plan.channels())));
        b.output(OnnxGraph.floatValueInfo(PROJECTED, grid(plan, dims)));
        return b.build();
    }

    /** Each cell's distance to its nearest row of {@code memory} ({@value #DISTANCE}). */
    public static OnnxGraph distances(Backbone backbone, AnomalyPlan plan, PatchMemory memory) {
        GraphBuilder b = start(backbone, plan, "vigil-anomaly-distances");
        distanceNodes(b, memory);
        b.output(OnnxGraph.floatValueInfo(DISTANCE, grid(plan, 1)));
        return b.build();
    }

    /**
     * The package's graph: {@code defect_map} [N,1,h,w] (each cell's calibrated defect probability) and
     * {@code probabilities} [N,2] in the order of {@code labels}, whose anomaly entry is the worst cell's.
     */
    public static OnnxGraph model(Backbone backbone, AnomalyPlan plan, PatchMemory memory, Calibration calibration,
            List<String> labels) {
        return model(backbone, plan, memory, calibration, labels, false);
    }

    /** As {@link #model(Backbone, AnomalyPlan, PatchMemory, Calibration, List)}, with {@value #LOGIT_MAP} as a third
     * output when {@code withLogits}. */
    public static OnnxGraph model(Backbone backbone, AnomalyPlan plan, PatchMemory memory, Calibration calibration,
            List<String> labels, boolean withLogits) {
        GraphBuilder b = start(backbone, plan, "vigil-" + backbone.name() + "-anomaly");
        distanceNodes(b, memory);
        b.initializer(OnnxTensors.floatTensor("vigil_threshold", new long[0],
                new float[] {(float) calibration.threshold()}));
        b.initializer(OnnxTensors.floatTensor("vigil_inverse_scale", new long[0],
                new float[] {(float) (1 / calibration.scale())}));
        b.node(node("Sub", "vigil_excess", List.of(DISTANCE, "vigil_threshold"), List.of("vigil_distance_excess")));
        b.node(node("Mul", "vigil_logit", List.of("vigil_distance_excess", "vigil_inverse_scale"),
                List.of(LOGIT_MAP)));
        b.node(node("Sigmoid", ModelExporter.DEFECT_MAP, List.of(LOGIT_MAP),
                List.of(ModelExporter.DEFECT_MAP)));
        ModelExporter.reduce(b, "ReduceMax", ModelExporter.DEFECT_MAP, "vigil_row_max", 3, false);
        ModelExporter.reduce(b, "ReduceMax", "vigil_row_max", "vigil_anomaly_probability", 2, false);
        b.initializer(OnnxTensors.floatTensor("vigil_one", new long[0], new float[] {1f}));
        b.node(node("Sub", "vigil_ok", List.of("vigil_one", "vigil_anomaly_probability"),
                List.of("vigil_ok_probability")));
        List<String> parts = new ArrayList<>();
        for (String label : labels) {
            parts.add(label.equals(Manifest.ANOMALY_LABEL) ? "vigil_anomaly_probability" : "vigil_ok_probability");
        }
        b.node(node("Concat", ModelExporter.OUTPUT, parts, List.of(ModelExporter.OUTPUT), intAttr("axis", 1)));
        b.output(OnnxGraph.floatValueInfo(ModelExporter.OUTPUT, 0, labels.size()));
        b.output(OnnxGraph.floatValueInfo(ModelExporter.DEFECT_MAP, grid(plan, 1)));
        if (withLogits) {
            b.output(OnnxGraph.floatValueInfo(LOGIT_MAP, grid(plan, 1)));
        }
        return b.build();
    }

    /** {@value #LOCAL} → {@value #DISTANCE} against {@code memory}. */
    private static void distanceNodes(GraphBuilder b, PatchMemory memory) {
        int c = memory.channels();
        b.initializer(OnnxTensors.floatTensor("vigil_memory_centre", new long[] {1, c, 1, 1}, memory.centre()));
        b.node(node("Sub", "vigil_centre", List.of(LOCAL, "vigil_memory_centre"), List.of("vigil_centred_patch")));
        ModelExporter.reduce(b, "ReduceSumSquare", "vigil_centred_patch", "vigil_patch_sq", 1, true);
        float[] centred = memory.centredRows();
        double[] norms = memory.squaredNorms();
        List<String> minima = new ArrayList<>();
        for (int start = 0, chunk = 0; start < memory.size(); start += MEMORY_CHUNK, chunk++) {
            int rows = Math.min(MEMORY_CHUNK, memory.size() - start);
            float[] w = new float[rows * c];
            float[] bias = new float[rows];
            for (int i = 0; i < rows * c; i++) {
                w[i] = -2f * centred[start * c + i];
            }
            for (int i = 0; i < rows; i++) {
                bias[i] = (float) norms[start + i];
            }
            String p = "vigil_memory" + chunk;
            b.initializer(OnnxTensors.floatTensor(p + "_weight", new long[] {rows, c, 1, 1}, w));
            b.initializer(OnnxTensors.floatTensor(p + "_bias", new long[] {rows}, bias));
            b.node(node("Conv", p + "_dot", List.of("vigil_centred_patch", p + "_weight", p + "_bias"),
                    List.of(p + "_partial"), intsAttr("kernel_shape", 1, 1)));
            ModelExporter.reduce(b, "ReduceMin", p + "_partial", p + "_min", 1, true);
            minima.add(p + "_min");
        }
        String min = "vigil_memory_min";
        b.node(minima.size() == 1 ? node("Identity", min, minima, List.of(min))
                : node("Min", min, minima, List.of(min)));
        b.node(node("Add", "vigil_distance_sq", List.of(min, "vigil_patch_sq"), List.of("vigil_distance_sq")));
        b.node(node("Relu", "vigil_distance_clamp", List.of("vigil_distance_sq"), List.of("vigil_distance_sq0")));
        b.node(node("Sqrt", DISTANCE, List.of("vigil_distance_sq0"), List.of(DISTANCE)));
    }
}
