package dev.vigil.trainer.model;

import dev.vigil.core.model.Manifest;
import dev.vigil.core.model.ModelPackage;

import static dev.vigil.trainer.onnx.GraphBuilder.intAttr;
import static dev.vigil.trainer.onnx.GraphBuilder.intsAttr;
import static dev.vigil.trainer.onnx.GraphBuilder.node;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.core.VigilException;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.image.ImageIo;
import dev.vigil.trainer.data.LabelledImage;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.features.FeatureExtractor;
import dev.vigil.trainer.features.FeatureStore.Extracted;
import dev.vigil.trainer.features.PatchFeatures;
import dev.vigil.trainer.features.PoolMode;
import dev.vigil.trainer.onnx.GraphBuilder;
import dev.vigil.trainer.onnx.GraphSurgery;
import dev.vigil.trainer.onnx.OnnxGraph;
import dev.vigil.trainer.onnx.OnnxTensors;
import dev.vigil.trainer.train.Heads;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TrainingPlan;
import dev.vigil.trainer.train.TrainingResult;
import dev.vigil.trainer.train.TransferNetwork;
import dev.vigil.trainer.train.TransferTrainer;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns a trained {@link TransferTrainer} into a model package: one ONNX graph (frozen prefix + trained suffix +
 * new head + softmax), checked against the DJL model on held-out images before anything is written.
 */
public final class ModelExporter {
    /** Largest difference between ONNX Runtime's and DJL's probabilities that export accepts. */
    public static final double MAX_ABS_DIFF = 1e-4;
    public static final String OUTPUT = "probabilities";
    private static final int VERIFY_IMAGES = 32;
    /** Images per ONNX Runtime run while verifying. */
    private static final int VERIFY_CHUNK = 4;

    private final TransferTrainer trainer;

    public ModelExporter(TransferTrainer trainer) {
        this.trainer = trainer;
    }

    /** The exported graph (not yet verified). */
    public OnnxGraph graph() {
        if (trainer.plan().patches()) {
            return patchGraph();
        }
        Backbone bb = trainer.backbone();
        OnnxGraph g = bb.graph();
        TrainingPlan plan = trainer.plan();
        TransferNetwork net = trainer.network();
        Preprocessing pre = plan.preprocessing();
        GraphBuilder b = new GraphBuilder(g.model()).name("vigil-" + bb.name());
        b.input(OnnxGraph.floatValueInfo(g.inputName(), 0, 3, pre.height(), pre.width()));
        if (!plan.random()) {
            List<String> prefixOut = new ArrayList<>();
            if (plan.hasSuffix()) {
                prefixOut.add(plan.cut());
            }
            prefixOut.addAll(plan.prefixTaps());
            b.nodes(GraphSurgery.ancestors(g, prefixOut)).nodes(GraphSurgery.dequantizers(g, prefixOut));
            b.initializersUsedFrom(g);
        }
        b.nodes(net.suffix().nodes());
        net.suffixInitializers().values().forEach(b::initializer);

        List<String> parts = new ArrayList<>();
        int i = 0;
        for (String t : plan.prefixTaps()) {
            parts.add(pool(b, GraphSurgery.floatName(g, t), plan.pool(), i++));
        }
        for (String t : plan.suffixTaps()) {
            parts.add(pool(b, t, plan.pool(), i++));
        }
        String features = "vigil_features";
        b.node(parts.size() == 1 ? node("Identity", "vigil_features", parts, List.of(features))
                : node("Concat", "vigil_features", parts, List.of(features), intAttr("axis", 1)));
        float[] scale = net.scale();
        float[] shift = net.shift();
        b.initializer(OnnxTensors.floatTensor(TransferNetwork.HEAD_SHIFT, new long[] {shift.length}, shift));
        b.initializer(OnnxTensors.floatTensor(TransferNetwork.HEAD_SCALE, new long[] {scale.length}, scale));
        b.node(node("Sub", "vigil_shift", List.of(features, TransferNetwork.HEAD_SHIFT), List.of("vigil_centred")));
        b.node(node("Mul", "vigil_scale", List.of("vigil_centred", TransferNetwork.HEAD_SCALE),
                List.of("vigil_scaled")));
        var w = net.headWeight().getArray();
        var bias = net.headBias().getArray();
        b.initializer(OnnxTensors.floatTensor(TransferNetwork.HEAD_WEIGHT, w.getShape().getShape(),
                w.toFloatArray()));
        b.initializer(OnnxTensors.floatTensor(TransferNetwork.HEAD_BIAS, bias.getShape().getShape(),
                bias.toFloatArray()));
        b.node(node("Gemm", "vigil_head", List.of("vigil_scaled", TransferNetwork.HEAD_WEIGHT,
                TransferNetwork.HEAD_BIAS), List.of("vigil_logits"), intAttr("transB", 1)));
        List<Variant> tta = trainer.ttaVariants();
        Heads heads = trainer.heads();
        String probs = tta.size() > 1 ? "vigil_variant_probabilities" : OUTPUT;
        if (heads == null) {
            b.node(node("Softmax", "vigil_softmax", List.of("vigil_logits"), List.of(probs), intAttr("axis", 1)));
        } else {
            // one softmax per head over its slice of the logits; the verdict head's output keeps the usual name
            for (int h = 0; h < heads.count(); h++) {
                String slice = "vigil_logits_" + h;
                slice(b, "vigil_logits", slice, heads.offset(h), heads.offset(h) + heads.size(h));
                String out = tta.size() > 1 ? "vigil_variant_probabilities_" + h : headOutput(heads, h);
                b.node(node("Softmax", "vigil_softmax_" + h, List.of(slice), List.of(out), intAttr("axis", 1)));
            }
        }
        PatchFeatures.Layout layout = null;
        if (trainer.mapNetwork() != null) {
            layout = PatchFeatures.layout(g, pre, plan.prefixTaps());
            b.nodes(PatchFeatures.nodes(layout));
            defectMap(b, cellHead(b, trainer.mapNetwork(), "vigil_map_head"), layout, tta.size());
        }
        if (tta.size() > 1 && heads == null) {
            testTimeAugmentation(b, g.inputName(), tta, pre, probs, net.classes());
        } else if (tta.size() > 1) {
            stackVariants(b, g.inputName(), tta, pre);
            for (int h = 0; h < heads.count(); h++) {
                meanOverVariants(b, "vigil_variant_probabilities_" + h, headOutput(heads, h), heads.size(h),
                        tta.size(), "_" + h);
            }
        }
        dev.vigil.trainer.train.DriftReference drift = trainer.driftReference();
        if (drift != null) {
            driftFeatures(b, features, drift, tta.size());
        }
        if (heads == null) {
            b.output(OnnxGraph.floatValueInfo(OUTPUT, 0, net.classes()));
        } else {
            b.output(OnnxGraph.floatValueInfo(OUTPUT, 0, heads.size(heads.verdict())));
            for (int h = 0; h < heads.count(); h++) {
                if (h != heads.verdict()) {
                    b.output(OnnxGraph.floatValueInfo(headOutput(heads, h), 0, heads.size(h)));
                }
            }
        }
        if (layout != null) {
            b.output(OnnxGraph.floatValueInfo(DEFECT_MAP, 0, 1, layout.gridHeight(), layout.gridWidth()));
        }
        if (drift != null) {
            b.output(OnnxGraph.floatValueInfo(DRIFT_FEATURES, 0, drift.dims()));
        }
        return b.build();
    }

    /** The output the drift watch reads: standardised pooled features of each image as given (docs/drift.md). */
    public static final String DRIFT_FEATURES = "drift_features";

    /**
     * {@value #DRIFT_FEATURES} {@code [N,D]}: each image's pooled features (the image as given: with test-time
     * augmentation the features are stacked variant-major, {@code [V*N,D]}, the original first), standardised by the
     * statistics of the class the model predicts for it: {@code (features - mean[argmax]) * scale[argmax]}.
     */
    private static void driftFeatures(GraphBuilder b, String features, dev.vigil.trainer.train.DriftReference drift,
            int variants) {
        String rows = features;
        int d = drift.dims();
        int k = drift.mean().length;
        if (variants > 1) {
            b.initializer(OnnxTensors.longTensor("vigil_drift_unstack_shape", new long[] {3},
                    new long[] {variants, -1, d}));
            b.node(node("Reshape", "vigil_drift_unstack", List.of(features, "vigil_drift_unstack_shape"),
                    List.of("vigil_drift_variants")));
            b.initializer(OnnxTensors.longTensor("vigil_drift_original", new long[0], new long[] {0}));
            b.node(node("Gather", "vigil_drift_take_original", List.of("vigil_drift_variants",
                    "vigil_drift_original"), List.of("vigil_drift_rows"), intAttr("axis", 0)));
            rows = "vigil_drift_rows";
        }
        b.initializer(OnnxTensors.floatTensor(DRIFT_MEAN, new long[] {k, d}, OnnxTensors.flatten(drift.mean())));
        b.initializer(OnnxTensors.floatTensor(DRIFT_SCALE, new long[] {k, d}, OnnxTensors.flatten(drift.scale())));
        b.node(node("ArgMax", "vigil_drift_class", List.of(OUTPUT), List.of("vigil_drift_class"),
                intAttr("axis", 1), intAttr("keepdims", 0)));
        b.node(node("Gather", "vigil_drift_class_mean", List.of(DRIFT_MEAN, "vigil_drift_class"),
                List.of("vigil_drift_means"), intAttr("axis", 0)));
        b.node(node("Gather", "vigil_drift_class_scale", List.of(DRIFT_SCALE, "vigil_drift_class"),
                List.of("vigil_drift_scales"), intAttr("axis", 0)));
        b.node(node("Sub", "vigil_drift_centre", List.of(rows, "vigil_drift_means"), List.of("vigil_drift_centred")));
        b.node(node("Mul", "vigil_drift_standardise", List.of("vigil_drift_centred", "vigil_drift_scales"),
                List.of(DRIFT_FEATURES)));
    }

    /** Initializers of the drift reference: {@code [K,D]} per-class means and inverse deviations. */
    public static final String DRIFT_MEAN = "vigil_drift_mean";
    public static final String DRIFT_SCALE = "vigil_drift_scale";

    /**
     * Appends the map head (a 1x1 convolution over the {@link PatchFeatures}, its standardisation folded into the
     * weights) and returns the name of its cell logits {@code [N,K,h,w]}.
     */
    private static String cellHead(GraphBuilder b, TransferNetwork map, String prefix) {
        float[] w = map.headWeight().getArray().toFloatArray();
        float[] bias = map.headBias().getArray().toFloatArray();
        float[] scale = map.scale();
        float[] shift = map.shift();
        int k = map.classes();
        int c = scale.length;
        float[] fw = new float[k * c];
        float[] fb = new float[k];
        for (int cls = 0; cls < k; cls++) {
            double acc = bias[cls];
            for (int j = 0; j < c; j++) {
                fw[cls * c + j] = w[cls * c + j] * scale[j];
                acc -= (double) fw[cls * c + j] * shift[j];
            }
            fb[cls] = (float) acc;
        }
        b.initializer(OnnxTensors.floatTensor(prefix + "_weight", new long[] {k, c, 1, 1}, fw));
        b.initializer(OnnxTensors.floatTensor(prefix + "_bias", new long[] {k}, fb));
        b.node(node("Conv", prefix, List.of(PatchFeatures.TENSOR, prefix + "_weight", prefix + "_bias"),
                List.of(prefix + "_logits"), intsAttr("kernel_shape", 1, 1)));
        return prefix + "_logits";
    }

    /**
     * {@value #DEFECT_MAP} = {@code 1 - P(ok)} of every cell from the cells' class logits {@code [N,K,h,w]}; with
     * test-time augmentation the stacked batch is variant-major and the original comes first, so the first N maps are
     * kept.
     */
    private void defectMap(GraphBuilder b, String cells, PatchFeatures.Layout layout, int variants) {
        String map = variants > 1 ? "vigil_variant_defect_map" : DEFECT_MAP;
        reduce(b, "ReduceLogSumExp", cells, "vigil_cell_lse", 1, true);
        b.initializer(OnnxTensors.longTensor("vigil_ok_index", new long[] {1}, new long[] {trainer.okIndex()}));
        b.node(node("Gather", "vigil_cell_ok", List.of(cells, "vigil_ok_index"), List.of("vigil_cell_ok_logit"),
                intAttr("axis", 1)));
        b.node(node("Sub", "vigil_cell_ok_log", List.of("vigil_cell_ok_logit", "vigil_cell_lse"),
                List.of("vigil_cell_ok_logp")));
        b.node(node("Exp", "vigil_cell_ok_p", List.of("vigil_cell_ok_logp"), List.of("vigil_cell_ok_prob")));
        b.initializer(OnnxTensors.floatTensor("vigil_one", new long[0], new float[] {1f}));
        b.node(node("Sub", "vigil_defect_map", List.of("vigil_one", "vigil_cell_ok_prob"), List.of(map)));
        if (variants > 1) {
            b.initializer(OnnxTensors.longTensor("vigil_map_shape", new long[] {5}, new long[] {variants, -1, 1,
                    layout.gridHeight(), layout.gridWidth()}));
            b.node(node("Reshape", "vigil_map_unstack", List.of(map, "vigil_map_shape"),
                    List.of("vigil_variant_maps")));
            b.initializer(OnnxTensors.longTensor("vigil_original", new long[0], new long[] {0}));
            b.node(node("Gather", "vigil_map_original", List.of("vigil_variant_maps", "vigil_original"),
                    List.of(DEFECT_MAP), intAttr("axis", 0)));
        }
    }

    /** The name of the defect-map output of patch-head models. */
    public static final String DEFECT_MAP = "defect_map";

    /**
     * The patch head's graph: prefix → {@link PatchFeatures} → per-channel standardisation → 1x1 convolution (the
     * head at every cell) → log-sum-exp pooling over the cells → softmax = {@value #OUTPUT}; and, with a good-part
     * class, {@value #DEFECT_MAP} = {@code 1 - P(ok)} of every cell (of the image as given, when test-time
     * augmentation stacks variants).
     */
    private OnnxGraph patchGraph() {
        Backbone bb = trainer.backbone();
        OnnxGraph g = bb.graph();
        TrainingPlan plan = trainer.plan();
        TransferNetwork net = trainer.network();
        Preprocessing pre = plan.preprocessing();
        GraphBuilder b = new GraphBuilder(g.model()).name("vigil-" + bb.name() + "-patches");
        b.input(OnnxGraph.floatValueInfo(g.inputName(), 0, 3, pre.height(), pre.width()));
        b.nodes(GraphSurgery.ancestors(g, plan.prefixTaps())).nodes(GraphSurgery.dequantizers(g, plan.prefixTaps()));
        b.initializersUsedFrom(g);
        PatchFeatures.Layout layout = PatchFeatures.layout(g, pre, plan.prefixTaps());
        b.nodes(PatchFeatures.nodes(layout));
        int c = layout.channels();
        int k = net.classes();
        b.initializer(OnnxTensors.floatTensor(TransferNetwork.HEAD_SHIFT, new long[] {1, c, 1, 1}, net.shift()));
        b.initializer(OnnxTensors.floatTensor(TransferNetwork.HEAD_SCALE, new long[] {1, c, 1, 1}, net.scale()));
        b.node(node("Sub", "vigil_shift", List.of(PatchFeatures.TENSOR, TransferNetwork.HEAD_SHIFT),
                List.of("vigil_centred")));
        b.node(node("Mul", "vigil_scale", List.of("vigil_centred", TransferNetwork.HEAD_SCALE),
                List.of("vigil_scaled")));
        b.initializer(OnnxTensors.floatTensor(TransferNetwork.HEAD_WEIGHT, new long[] {k, c, 1, 1},
                net.headWeight().getArray().toFloatArray()));
        b.initializer(OnnxTensors.floatTensor(TransferNetwork.HEAD_BIAS, new long[] {k},
                net.headBias().getArray().toFloatArray()));
        String cells = "vigil_cell_logits";
        b.node(node("Conv", "vigil_head", List.of("vigil_scaled", TransferNetwork.HEAD_WEIGHT,
                TransferNetwork.HEAD_BIAS), List.of(cells), intsAttr("kernel_shape", 1, 1)));
        // log-sum-exp pooling over the cells, around the maximum: max + log(mean(exp(r (x - max)))) / r
        b.initializer(OnnxTensors.longTensor("vigil_cells_shape", new long[] {3}, new long[] {0, k, -1}));
        b.node(node("Reshape", "vigil_cells_flat", List.of(cells, "vigil_cells_shape"), List.of("vigil_cells")));
        reduce(b, "ReduceMax", "vigil_cells", "vigil_cells_max", 2, true);
        reduce(b, "ReduceMax", "vigil_cells", "vigil_cells_max2", 2, false);
        b.initializer(OnnxTensors.floatTensor("vigil_lse_r", new long[0], new float[] {net.patchPoolR()}));
        b.node(node("Sub", "vigil_lse_sub", List.of("vigil_cells", "vigil_cells_max"), List.of("vigil_lse_d")));
        b.node(node("Mul", "vigil_lse_mul", List.of("vigil_lse_d", "vigil_lse_r"), List.of("vigil_lse_rd")));
        b.node(node("Exp", "vigil_lse_exp", List.of("vigil_lse_rd"), List.of("vigil_lse_e")));
        reduce(b, "ReduceMean", "vigil_lse_e", "vigil_lse_mean", 2, false);
        b.node(node("Log", "vigil_lse_log", List.of("vigil_lse_mean"), List.of("vigil_lse_l")));
        b.node(node("Div", "vigil_lse_div", List.of("vigil_lse_l", "vigil_lse_r"), List.of("vigil_lse_lr")));
        b.node(node("Add", "vigil_lse", List.of("vigil_lse_lr", "vigil_cells_max2"), List.of("vigil_logits")));
        List<Variant> tta = trainer.ttaVariants();
        String probs = tta.size() > 1 ? "vigil_variant_probabilities" : OUTPUT;
        b.node(node("Softmax", "vigil_softmax", List.of("vigil_logits"), List.of(probs), intAttr("axis", 1)));
        int ok = trainer.okIndex();
        if (ok >= 0) {
            defectMap(b, cells, layout, tta.size());
        }
        if (tta.size() > 1) {
            testTimeAugmentation(b, g.inputName(), tta, pre, probs, k);
        }
        b.output(OnnxGraph.floatValueInfo(OUTPUT, 0, k));
        if (ok >= 0) {
            b.output(OnnxGraph.floatValueInfo(DEFECT_MAP, 0, 1, layout.gridHeight(), layout.gridWidth()));
        }
        return b.build();
    }

    /** A Reduce* node over one axis, with the axes as an attribute (opset < 18) or an input (opset 18+). */
    public static void reduce(GraphBuilder b, String op, String in, String out, int axis, boolean keepDims) {
        if (b.opset() >= 18) {
            String axes = out + "_axes";
            b.initializer(OnnxTensors.longTensor(axes, new long[] {1}, new long[] {axis}));
            b.node(node(op, out, List.of(in, axes), List.of(out), intAttr("keepdims", keepDims ? 1 : 0)));
        } else {
            b.node(node(op, out, List.of(in), List.of(out), intsAttr("axes", axis), intAttr("keepdims",
                    keepDims ? 1 : 0)));
        }
    }

    /**
     * Wraps the network in test-time augmentation: the input batch is stacked with its flipped and turned copies
     * (the same {@link Variant}s the validation probabilities average over), the network runs once on the stack, and
     * the output is the mean of each image's probabilities. Flips are Gathers with reversed indices, turns a Transpose
     * followed by flips, so the graph needs nothing newer than opset 7.
     */
    private static void testTimeAugmentation(GraphBuilder b, String input, List<Variant> variants, Preprocessing pre,
            String variantProbs, int classes) {
        stackVariants(b, input, variants, pre);
        meanOverVariants(b, variantProbs, OUTPUT, classes, variants.size(), "");
    }

    /** The input batch stacked with its flipped and turned copies, variant by variant, in the network's place. */
    private static void stackVariants(GraphBuilder b, String input, List<Variant> variants, Preprocessing pre) {
        String stacked = "vigil_tta_batch";
        b.rewireInput(input, stacked);
        // only the initializers a node reads: ONNX Runtime refuses unused ones in IR-version-3 graphs
        if (variants.stream().anyMatch(v -> v == Variant.VFLIP || v == Variant.ROT180 || v == Variant.ROT270
                || v == Variant.TRANSVERSE)) {
            b.initializer(OnnxTensors.longTensor("vigil_tta_reverse_h", new long[] {pre.height()},
                    reversed(pre.height())));
        }
        if (variants.stream().anyMatch(v -> v == Variant.HFLIP || v == Variant.ROT180 || v == Variant.ROT90
                || v == Variant.TRANSVERSE)) {
            b.initializer(OnnxTensors.longTensor("vigil_tta_reverse_w", new long[] {pre.width()},
                    reversed(pre.width())));
        }
        List<String> copies = new ArrayList<>();
        for (Variant v : variants) {
            String x = input;
            String p = "vigil_tta_" + v.id();
            boolean transpose = v == Variant.TRANSPOSE || v == Variant.ROT90 || v == Variant.ROT270
                    || v == Variant.TRANSVERSE;
            boolean flipW = v == Variant.HFLIP || v == Variant.ROT180 || v == Variant.ROT90
                    || v == Variant.TRANSVERSE;
            boolean flipH = v == Variant.VFLIP || v == Variant.ROT180 || v == Variant.ROT270
                    || v == Variant.TRANSVERSE;
            if (transpose) {
                b.node(node("Transpose", p + "_transpose", List.of(x), List.of(p + "_t"), intsAttr("perm", 0, 1, 3, 2)));
                x = p + "_t";
            }
            if (flipH) {
                b.node(node("Gather", p + "_flip_h", List.of(x, "vigil_tta_reverse_h"), List.of(p + "_h"),
                        intAttr("axis", 2)));
                x = p + "_h";
            }
            if (flipW) {
                b.node(node("Gather", p + "_flip_w", List.of(x, "vigil_tta_reverse_w"), List.of(p + "_w"),
                        intAttr("axis", 3)));
                x = p + "_w";
            }
            copies.add(x);
        }
        b.node(node("Concat", "vigil_tta_stack", copies, List.of(stacked), intAttr("axis", 0)));
    }

    /**
     * {@code out}: each image's mean over its variants of {@code variantProbs} ({@code [variants*N, classes]}, variant
     * by variant as {@link #stackVariants} stacked them); {@code tag} keeps node names apart.
     */
    private static void meanOverVariants(GraphBuilder b, String variantProbs, String out, int classes, int variants,
            String tag) {
        String shape = "vigil_tta_shape" + tag;
        String unstacked = "vigil_tta_probabilities" + tag;
        b.initializer(OnnxTensors.longTensor(shape, new long[] {3}, new long[] {variants, -1, classes}));
        b.node(node("Reshape", "vigil_tta_unstack" + tag, List.of(variantProbs, shape), List.of(unstacked)));
        if (b.opset() >= 18) {
            String axes = "vigil_tta_axes" + tag;
            b.initializer(OnnxTensors.longTensor(axes, new long[] {1}, new long[] {0}));
            b.node(node("ReduceMean", "vigil_tta_mean" + tag, List.of(unstacked, axes), List.of(out),
                    intAttr("keepdims", 0)));
        } else {
            b.node(node("ReduceMean", "vigil_tta_mean" + tag, List.of(unstacked), List.of(out), intsAttr("axes", 0),
                    intAttr("keepdims", 0)));
        }
    }

    /** The output of head {@code h}: {@value #OUTPUT} for the verdict head, {@code probabilities_<name>} else. */
    public static String headOutput(Heads heads, int h) {
        return h == heads.verdict() ? OUTPUT : OUTPUT + "_" + heads.names().get(h);
    }

    /** Columns {@code [from, to)} of the 2-D tensor {@code in}. */
    private static void slice(GraphBuilder b, String in, String out, int from, int to) {
        if (b.opset() >= 10) {
            b.initializer(OnnxTensors.longTensor(out + "_starts", new long[] {1}, new long[] {from}));
            b.initializer(OnnxTensors.longTensor(out + "_ends", new long[] {1}, new long[] {to}));
            b.initializer(OnnxTensors.longTensor(out + "_axes", new long[] {1}, new long[] {1}));
            b.node(node("Slice", out, List.of(in, out + "_starts", out + "_ends", out + "_axes"), List.of(out)));
        } else {
            b.node(node("Slice", out, List.of(in), List.of(out), intsAttr("starts", from), intsAttr("ends", to),
                    intsAttr("axes", 1)));
        }
    }

    private static long[] reversed(int n) {
        long[] r = new long[n];
        for (int i = 0; i < n; i++) {
            r[i] = n - 1 - i;
        }
        return r;
    }

    private static String pool(GraphBuilder b, String tensor, PoolMode mode, int index) {
        String p = "vigil_tap" + index;
        List<String> out = new ArrayList<>();
        if (mode != PoolMode.MAX) {
            b.node(node("GlobalAveragePool", p + "_avgpool", List.of(tensor), List.of(p + "_avg4")));
            b.node(node("Flatten", p + "_avgflat", List.of(p + "_avg4"), List.of(p + "_avg")));
            out.add(p + "_avg");
        }
        if (mode == PoolMode.MAX || mode == PoolMode.AVGMAX) {
            b.node(node("GlobalMaxPool", p + "_maxpool", List.of(tensor), List.of(p + "_max4")));
            b.node(node("Flatten", p + "_maxflat", List.of(p + "_max4"), List.of(p + "_max")));
            out.add(p + "_max");
        }
        if (mode == PoolMode.AVGSTD) {
            // std = sqrt(max(E[x^2] - E[x]^2, 0) + eps), as PoolMode and TransferNetwork compute it
            b.node(node("Mul", p + "_sq", List.of(tensor, tensor), List.of(p + "_x2")));
            b.node(node("GlobalAveragePool", p + "_sqpool", List.of(p + "_x2"), List.of(p + "_ex2_4")));
            b.node(node("Flatten", p + "_sqflat", List.of(p + "_ex2_4"), List.of(p + "_ex2")));
            b.node(node("Mul", p + "_meansq", List.of(p + "_avg", p + "_avg"), List.of(p + "_m2")));
            b.node(node("Sub", p + "_var", List.of(p + "_ex2", p + "_m2"), List.of(p + "_var0")));
            b.initializer(OnnxTensors.floatTensor(p + "_eps", new long[0], new float[] {PoolMode.STD_EPSILON}));
            b.node(node("Relu", p + "_relu", List.of(p + "_var0"), List.of(p + "_var1")));
            b.node(node("Add", p + "_vareps", List.of(p + "_var1", p + "_eps"), List.of(p + "_var2")));
            b.node(node("Sqrt", p + "_std", List.of(p + "_var2"), List.of(p + "_stdv")));
            out.add(p + "_stdv");
        }
        if (out.size() == 1) {
            return out.get(0);
        }
        b.node(node("Concat", p + "_concat", out, List.of(p), intAttr("axis", 1)));
        return p;
    }

    /** Result of checking the exported graph against the DJL model (probabilities and, if any, defect maps). */
    /**
     * @param maxDriftDiff largest difference of the drift features (standardised, so in standard deviations); NaN
     *     when the model has none
     */
    public record Verification(int images, double maxAbsDiff, double maxMapDiff, double maxDriftDiff) {}

    /** Drift features are standardised: a difference in standard deviations, far below anything the watch sees. */
    public static final double MAX_DRIFT_DIFF = 1e-3;

    /** Runs the graph with ONNX Runtime on held-out images and compares with the DJL model's outputs. */
    public Verification verify(OnnxGraph graph) {
        Extracted val = trainer.validationFeatures();
        int n = Math.min(VERIFY_IMAGES, val.kept().size());
        Preprocessing pre = trainer.plan().preprocessing();
        // the reference is recomputed at full precision (the cache keeps patch maps in half precision); from
        // scratch, the "features" are the preprocessed images themselves
        Extracted sub = trainer.plan().random() ? subset(val, n) : trainer.referenceFeatures(val.kept().subList(0, n));
        float[][][] djlHeads = trainer.headProbabilities(sub, trainer.cutShape());
        Heads heads = trainer.heads();
        float[][] djl = djlHeads[heads == null ? 0 : heads.verdict()];
        boolean maps = graph.graph().getOutputList().stream().anyMatch(o -> o.getName().equals(DEFECT_MAP));
        float[][] djlMaps = !maps ? null : trainer.plan().patches() ? trainer.defectMaps(sub)
                : trainer.defectMaps(trainer.referenceFeatures(val.kept().subList(0, n), trainer.patchSpec(),
                        List.of(Variant.ORIGINAL)));
        boolean drift = graph.graph().getOutputList().stream().anyMatch(o -> o.getName().equals(DRIFT_FEATURES));
        float[][] djlDrift = drift ? standardised(trainer.pooledFeatures(sub), djl, trainer.driftReference()) : null;
        double driftMax = 0;
        float[] batch = new float[n * pre.valuesPerImage()];
        for (int i = 0; i < n; i++) {
            LabelledImage img = val.kept().get(i);
            float[] x = ImageIo.preprocess(ImageIo.read(img.path()), pre, Variant.ORIGINAL, img.path().toString());
            System.arraycopy(x, 0, batch, i * pre.valuesPerImage(), x.length);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        double max = 0;
        double mapMax = 0;
        int per = pre.valuesPerImage();
        try (OrtSession s = env.createSession(graph.toBytes(), FeatureExtractor.sessionOptions())) {
            // a few images per run: with test-time augmentation inside the graph each image is 8 forward passes,
            // and 32 at once took ONNX Runtime's arena past a gigabyte
            for (int from = 0; from < n; from += VERIFY_CHUNK) {
                int m = Math.min(VERIFY_CHUNK, n - from);
                try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch, from * per, m * per),
                        new long[] {m, 3, pre.height(), pre.width()});
                        OrtSession.Result r = s.run(Map.of(graph.inputName(), in))) {
                    for (int h = 0; h < djlHeads.length; h++) {
                        String name = heads == null ? OUTPUT : headOutput(heads, h);
                        float[][] ort = (float[][]) r.get(name).orElseThrow().getValue();
                        for (int i = 0; i < m; i++) {
                            for (int k = 0; k < ort[i].length; k++) {
                                max = Math.max(max, Math.abs(ort[i][k] - djlHeads[h][from + i][k]));
                            }
                        }
                    }
                    if (drift) {
                        float[][] z = (float[][]) r.get(DRIFT_FEATURES).orElseThrow().getValue();
                        for (int i = 0; i < m; i++) {
                            for (int j = 0; j < z[i].length; j++) {
                                driftMax = Math.max(driftMax, Math.abs(z[i][j] - djlDrift[from + i][j]));
                            }
                        }
                    }
                    if (maps) {
                        FloatBuffer fb = ((OnnxTensor) r.get(DEFECT_MAP).orElseThrow()).getFloatBuffer();
                        for (int i = 0; i < m; i++) {
                            for (int j = 0; j < djlMaps[from + i].length; j++) {
                                mapMax = Math.max(mapMax, Math.abs(fb.get() - djlMaps[from + i][j]));
                            }
                        }
                    }
                }
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime cannot run the exported model: " + e.getMessage(), e);
        }
        return new Verification(n, max, maps ? mapMax : Double.NaN, drift ? driftMax : Double.NaN);
    }

    /** Features standardised by the reference of each image's predicted class (what the graph computes). */
    private static float[][] standardised(float[][] f, float[][] probs, dev.vigil.trainer.train.DriftReference ref) {
        float[][] out = new float[f.length][];
        for (int i = 0; i < f.length; i++) {
            int c = dev.vigil.trainer.eval.Metrics.argmax(probs[i]);
            out[i] = new float[f[i].length];
            for (int j = 0; j < f[i].length; j++) {
                out[i][j] = (f[i][j] - ref.mean()[c][j]) * ref.scale()[c][j];
            }
        }
        return out;
    }

    private static Extracted subset(Extracted e, int n) {
        return new Extracted(e.kept().subList(0, n), e.sha().subList(0, n),
                java.util.Arrays.copyOf(e.features(), n), 0, 0, e.forwardSeconds(), e.cutShape());
    }

    /**
     * Verifies and writes the package to {@code out} (which must not exist or be empty). Everything is written to a
     * temporary sibling folder first and renamed into place, so a crash leaves no half-written package.
     */
    public ModelPackage write(Path out) throws IOException {
        PackageWriter.requireEmpty(out);
        OnnxGraph graph = graph();
        Verification v = verify(graph);
        if (!(v.maxAbsDiff() <= MAX_ABS_DIFF) || v.maxMapDiff() > MAX_ABS_DIFF
                || v.maxDriftDiff() > MAX_DRIFT_DIFF) {
            throw new VigilException(String.format(Locale.ROOT, "the exported ONNX model disagrees with the trained"
                    + " DJL model by %.3g (defect maps by %.3g, drift features by %.3g; the limits are %.0g and %.0g)"
                    + " on %d held-out images; nothing was written. Please report this with the backbone name",
                    v.maxAbsDiff(), v.maxMapDiff(), v.maxDriftDiff(), MAX_ABS_DIFF, MAX_DRIFT_DIFF, v.images()));
        }
        return PackageWriter.write(out, graph.toBytes(), report(v),
                (modelSha, reportSha) -> manifest(modelSha, reportSha, !Double.isNaN(v.maxMapDiff())));
    }

    /** The manifest of the supervised package (a combined package starts from it). */
    public Manifest manifest(String modelSha, String reportSha, boolean hasMap) {
        TrainingResult r = trainer.result();
        TrainOptions o = trainer.options();
        TrainingPlan plan = trainer.plan();
        Backbone bb = trainer.backbone();
        Preprocessing pre = plan.preprocessing();
        List<String> labels = trainer.dataset().classes();
        Instant now = Instant.now();
        String id = PackageWriter.id(now, modelSha);
        Map<String, Integer> trainCounts = new LinkedHashMap<>();
        Map<String, Integer> valCounts = new LinkedHashMap<>();
        r.counts().forEach((k, v) -> {
            trainCounts.put(k, v[0]);
            valCounts.put(k, v[1]);
        });
        List<String> taps = new ArrayList<>(plan.prefixTaps());
        taps.addAll(plan.suffixTaps());
        var bound = r.calibration() == null ? null : r.calibration().recall();
        Manifest.OperatingPointRef op = r.operatingPoint() == null ? null : new Manifest.OperatingPointRef(
                r.operatingPoint().defectThreshold(), r.operatingPoint().targetRecall(),
                r.operatingPoint().validationRecall(), r.operatingPoint().validationFalseRejectRate(),
                bound == null || Double.isNaN(bound.lower95()) ? null : bound.lower95(),
                bound == null ? null : bound.total());
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("validationAccuracy", r.validation().accuracy());
        metrics.put("validationBalancedAccuracy", r.validation().balancedAccuracy());
        metrics.put("validationImages", r.validation().count());
        if (trainer.headMetrics() != null) {
            Map<String, Object> perHead = new LinkedHashMap<>();
            trainer.headMetrics().forEach((name, hm) -> perHead.put(name, Map.of("accuracy", hm.accuracy(),
                    "balancedAccuracy", hm.balancedAccuracy(), "images", hm.count())));
            metrics.put("heads", perHead);
        }
        Map<String, String> files = new LinkedHashMap<>();
        files.put(ModelPackage.MODEL, modelSha);
        files.put(ModelPackage.REPORT, reportSha);
        return new Manifest(Manifest.SCHEMA_VERSION, id, now.toString(), labels,
                trainer.okIndex() < 0 ? null : labels.get(trainer.okIndex()),
                new Manifest.Input(bb.graph().inputName(), pre.width(), pre.height(), pre.colorOrder().name(),
                        pre.scale(), pre.mean(), pre.std(), "NCHW", pre.fit().name().toLowerCase(Locale.ROOT),
                        dev.vigil.trainer.backbone.Tiling.manifest(o.geometry().tiles(), pre.width(), pre.height())),
                new Manifest.Output(OUTPUT, "probabilities", hasMap ? DEFECT_MAP : null, driftRef(),
                        trainer.heads() == null ? null : trainer.heads().verdictName(), headsRef()),
                new Manifest.BackboneRef(bb.name(), bb.sha256(),
                        bb.file() == null ? null : bb.file().toAbsolutePath().toString()),
                new Manifest.Training(plan.unfreeze(), plan.cut(), taps, plan.pool().name().toLowerCase(Locale.ROOT),
                        plan.random(), r.history().size(), o.epochs(), r.bestEpoch(), o.headLr(),
                        plan.random() ? o.headLr() : o.headLr() * o.backboneLrFactor(), o.batchSize(), o.seed(),
                        trainer.augmentVariants().stream().map(Variant::id).toList(),
                        trainer.ttaVariants().stream().map(Variant::id).toList(), r.datasetSha256(), trainCounts, valCounts,
                        r.skippedImages(), plan.patches() ? "patch" : "pooled",
                        plan.patches() ? trainer.network().patchPoolR() : null),
                op, metrics, modelSha, files);
    }

    /** The manifest's list of heads (multi-task; null for a single classifier). */
    private List<Manifest.Head> headsRef() {
        Heads heads = trainer.heads();
        if (heads == null) {
            return null;
        }
        List<Manifest.Head> out = new ArrayList<>();
        for (int h = 0; h < heads.count(); h++) {
            out.add(new Manifest.Head(heads.names().get(h), headOutput(heads, h), heads.classes().get(h)));
        }
        return out;
    }

    private Manifest.Drift driftRef() {
        dev.vigil.trainer.train.DriftReference d = trainer.driftReference();
        return d == null ? null : new Manifest.Drift(DRIFT_FEATURES, "class",
                java.util.Arrays.stream(d.images()).max().orElse(0), null, d.excess(), trainer.inputReference());
    }

    /** The {@code calibration} block of report.json. */
    public static Map<String, Object> calibrationJson(dev.vigil.trainer.train.Calibration c) {
        if (c == null) {
            return null;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", c.method());
        m.put("folds", c.folds());
        m.put("groups", c.groups());
        m.put("defects", c.defects());
        m.put("expectedRecall", c.recall() == null || Double.isNaN(c.recall().recall()) ? null : c.recall().recall());
        m.put("recallLower95", c.recall() == null || Double.isNaN(c.recall().lower95()) ? null
                : c.recall().lower95());
        m.put("defectsNeededForTarget", c.defectsNeeded());
        m.put("auroc", Double.isNaN(c.auroc()) ? null : c.auroc());
        m.put("warning", c.warning());
        return m;
    }

    /** The {@code learningCurve} block of report.json (docs/model-package.md); NaN figures are written as null. */
    public static Map<String, Object> learningCurveJson(dev.vigil.trainer.train.LearningCurve c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", "out-of-fold: each fold also trains on nested, class-stratified parts of its training"
                + " images, whole groups kept together");
        m.put("folds", c.folds());
        m.put("epochs", c.epochs());
        List<Map<String, Object>> points = new ArrayList<>();
        for (var p : c.points()) {
            Map<String, Object> pt = new LinkedHashMap<>();
            pt.put("fraction", p.fraction());
            pt.put("trainImages", p.trainImages());
            pt.put("perClassTrain", p.perClassTrain());
            pt.put("images", p.images());
            pt.put("accuracy", finite(p.accuracy()));
            pt.put("balancedAccuracy", finite(p.balancedAccuracy()));
            var d = p.defectRecall();
            pt.put("defectRecall", d == null ? null : finite(d.recall()));
            pt.put("defectsCaught", d == null ? null : d.caught());
            pt.put("defects", d == null ? null : d.total());
            pt.put("defectRecallLower95", d == null ? null : finite(d.lower95()));
            Map<String, Object> perClass = new LinkedHashMap<>();
            p.perClass().forEach((cls, b) -> {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("recall", finite(b.recall()));
                r.put("caught", b.caught());
                r.put("n", b.total());
                r.put("lower95", finite(b.lower95()));
                perClass.put(cls, r);
            });
            pt.put("perClass", perClass);
            points.add(pt);
        }
        m.put("points", points);
        m.put("skipped", c.skipped());
        var s = c.needsMoreExamples();
        Map<String, Object> needs = new LinkedHashMap<>();
        needs.put("class", s.className());
        needs.put("reason", s.reason());
        needs.put("currentImages", s.currentImages());
        needs.put("suggestedImages", s.suggestedImages());
        m.put("needsMoreExamples", needs);
        m.put("seconds", c.seconds());
        return m;
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    /** The report of the supervised package (a combined package starts from it). */
    public Map<String, Object> report(Verification v) {
        TrainingResult r = trainer.result();
        Map<String, Object> rep = new LinkedHashMap<>();
        rep.put("schema", "vigil.training-report/1");
        rep.put("history", r.history());
        rep.put("bestEpoch", r.bestEpoch());
        rep.put("refittedOnAllImages", r.refitted());
        var f = trainer.options().finetune();
        Map<String, Object> finetune = new LinkedHashMap<>();
        finetune.put("schedule", f.schedule());
        finetune.put("trainedBlocks", r.plan().unfreeze());
        finetune.put("cut", r.plan().cut());
        finetune.put("lrDecay", f.lrDecay());
        finetune.put("batchNorm", f.bnTrain() ? "train" : "frozen");
        rep.put("finetune", finetune);
        rep.put("validation", r.validation());
        if (trainer.headMetrics() != null) {
            rep.put("heads", trainer.headMetrics());
        }
        rep.put("operatingPoint", r.operatingPoint());
        rep.put("calibration", calibrationJson(r.calibration()));
        rep.put("thresholdCurve", r.thresholdCurve());
        if (r.learningCurve() != null) {
            rep.put("learningCurve", learningCurveJson(r.learningCurve()));
        }
        Map<String, Object> timing = new LinkedHashMap<>();
        timing.put("prefixForwardSeconds", r.prefixSeconds());
        timing.put("prefixForwardSecondsOriginalOnly", r.prefixSecondsOriginal());
        timing.put("trainSeconds", r.trainSeconds());
        timing.put("totalSeconds", r.totalSeconds());
        timing.put("featuresFromCache", r.featuresFromCache());
        rep.put("timing", timing);
        Map<String, Object> ver = new LinkedHashMap<>();
        ver.put("images", v.images());
        ver.put("maxAbsDiff", v.maxAbsDiff());
        ver.put("maxDefectMapDiff", Double.isNaN(v.maxMapDiff()) ? null : v.maxMapDiff());
        ver.put("maxDriftFeatureDiff", Double.isNaN(v.maxDriftDiff()) ? null : v.maxDriftDiff());
        ver.put("limit", MAX_ABS_DIFF);
        rep.put("verification", ver);
        return rep;
    }
}
