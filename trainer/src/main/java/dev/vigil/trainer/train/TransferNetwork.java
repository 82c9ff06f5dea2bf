package dev.vigil.trainer.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.norm.Dropout;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.vigil.core.VigilException;
import dev.vigil.trainer.features.PoolMode;
import dev.vigil.trainer.onnx.GraphSurgery;
import dev.vigil.trainer.onnx.GraphSurgery.Subgraph;
import dev.vigil.trainer.onnx.OnnxTensors;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The trainable part of a transfer-learning model as a DJL block: the backbone's suffix (its ONNX nodes
 * interpreted with DJL operators, starting from the backbone's own weights) followed by a new head.
 *
 * <p>Inputs: {@code [cutMap (B,C,H,W), prefixPooled (B,P)]}; output: class logits {@code (B,K)}. The head pools
 * each tapped feature map ({@link PoolMode}), concatenates the pooled prefix taps and suffix taps, multiplies by a
 * fixed per-feature scale (so taps of different depths start on an equal footing) and applies a linear layer.
 */
public final class TransferNetwork extends AbstractBlock {
    public static final String HEAD_WEIGHT = "vigil_head_weight";
    public static final String HEAD_BIAS = "vigil_head_bias";
    public static final String HEAD_SCALE = "vigil_head_scale";
    public static final String HEAD_SHIFT = "vigil_head_shift";

    private final Subgraph suffix;
    private final String suffixInput;
    private final List<String> suffixTaps;
    private final int prefixPooledWidth;
    private final PoolMode pool;
    private final int classes;
    private final float dropout;
    private final boolean bnTrain;
    private final Map<String, Parameter> suffixParams = new LinkedHashMap<>();
    private final Map<String, NDArray> constants = new HashMap<>();
    private final NDManager manager;
    private Parameter headWeight;
    private Parameter headBias;
    private NDArray scale;
    private NDArray shift;
    /** Log-sum-exp sharpness of the patch head; 0 = the pooled head. */
    private float patchPoolR;

    /**
     * @param suffix float nodes from the cut to the final feature map (empty when only the head learns)
     * @param suffixInput the tensor name the suffix reads (the cut's float value)
     * @param suffixTaps tensors inside the suffix whose pooled values feed the head, in order
     * @param prefixPooledWidth width of the pooled prefix taps given as the second input
     * @param random initialise the suffix randomly instead of from the backbone's weights (from-scratch baseline)
     * @param bnTrain BatchNorm layers normalise with (and update) batch statistics while training; otherwise their
     *     pretrained running statistics are used throughout and only their scale and shift learn
     */
    public TransferNetwork(NDManager manager, Subgraph suffix, String suffixInput, List<String> suffixTaps,
            int prefixPooledWidth, PoolMode pool, int classes, float dropout, boolean random, boolean bnTrain,
            long seed) {
        this.manager = manager;
        this.suffix = suffix;
        this.suffixInput = suffixInput;
        this.suffixTaps = List.copyOf(suffixTaps);
        this.prefixPooledWidth = prefixPooledWidth;
        this.pool = pool;
        this.classes = classes;
        this.dropout = dropout;
        this.bnTrain = bnTrain;
        Random rnd = new Random(seed);
        for (NodeProto n : suffix.nodes()) {
            for (int i = 0; i < n.getInputCount(); i++) {
                String name = n.getInput(i);
                TensorProto t = suffix.initializers().get(name);
                if (t == null || suffixParams.containsKey(name) || constants.containsKey(name)) {
                    continue;
                }
                Parameter.Type type = parameterType(n.getOpType(), i);
                if (type == null) {
                    constants.put(name, array(t));
                    continue;
                }
                NDArray value = random ? randomInit(type, t, rnd) : array(t);
                boolean learns = type != Parameter.Type.RUNNING_MEAN && type != Parameter.Type.RUNNING_VAR;
                value.setRequiresGradient(learns);
                suffixParams.put(name, addParameter(Parameter.builder().setName(name).setType(type)
                        .optRequiresGrad(learns).optArray(value).build()));
            }
        }
    }

    private static Parameter.Type parameterType(String op, int input) {
        return switch (op) {
            case "Conv", "Gemm" -> input == 1 ? Parameter.Type.WEIGHT : input == 2 ? Parameter.Type.BIAS : null;
            case "BatchNormalization" -> switch (input) {
                case 1 -> Parameter.Type.GAMMA;
                case 2 -> Parameter.Type.BETA;
                case 3 -> Parameter.Type.RUNNING_MEAN;
                case 4 -> Parameter.Type.RUNNING_VAR;
                default -> null;
            };
            default -> null;
        };
    }

    private NDArray array(TensorProto t) {
        long[] dims = OnnxTensors.dims(t);
        if (t.getDataType() == OnnxTensors.INT64) {
            return manager.create(OnnxTensors.toLongs(t), new Shape(dims));
        }
        return manager.create(OnnxTensors.toFloats(t), new Shape(dims));
    }

    private NDArray randomInit(Parameter.Type type, TensorProto t, Random rnd) {
        long[] dims = OnnxTensors.dims(t);
        int n = Math.toIntExact(OnnxTensors.elementCount(t));
        float[] v = new float[n];
        switch (type) {
            case WEIGHT -> {
                double fanIn = n / (double) dims[0];
                double std = Math.sqrt(2.0 / fanIn);
                for (int i = 0; i < n; i++) {
                    v[i] = (float) (rnd.nextGaussian() * std);
                }
            }
            case GAMMA, RUNNING_VAR -> java.util.Arrays.fill(v, 1f);
            default -> { }
        }
        return manager.create(v, new Shape(dims));
    }

    /**
     * Makes this a patch head: the input is the {@link dev.vigil.trainer.features.PatchFeatures} map, cell-major
     * {@code (B,h*w,C)}, the standardised linear layer scores every cell, and an image's logits are the
     * log-sum-exp pooling of its cells' logits with sharpness {@code r}:
     * {@code (1/r) log(mean(exp(r * cellLogits)))} — the mean of the cells for small r, their maximum for large r.
     * Call before training; the network must have no suffix.
     */
    public TransferNetwork patchHead(float r) {
        if (!suffix.nodes().isEmpty() || prefixPooledWidth > 0) {
            throw new IllegalStateException("the patch head trains on the patch-feature map alone");
        }
        if (!(r > 0)) {
            throw new VigilException("--lse-r must be more than 0, found " + r);
        }
        this.patchPoolR = r;
        return this;
    }

    public boolean isPatchHead() {
        return patchPoolR > 0;
    }

    public float patchPoolR() {
        return patchPoolR;
    }

    /** Creates the head for a feature vector of {@code width} values; call once the width is known. */
    public void initHead(int width, long seed) {
        Random rnd = new Random(seed ^ 0x5eedL);
        float[] w = new float[classes * width];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rnd.nextGaussian() * 0.01);
        }
        NDArray wa = manager.create(w, new Shape(classes, width));
        NDArray ba = manager.zeros(new Shape(classes));
        wa.setRequiresGradient(true);
        ba.setRequiresGradient(true);
        headWeight = addParameter(Parameter.builder().setName(HEAD_WEIGHT).setType(Parameter.Type.WEIGHT)
                .optArray(wa).build());
        headBias = addParameter(Parameter.builder().setName(HEAD_BIAS).setType(Parameter.Type.BIAS)
                .optArray(ba).build());
        scale = manager.ones(new Shape(width));
        shift = manager.zeros(new Shape(width));
    }

    /** Standardises the head's input: {@code (features - shift) * scale}, fixed during training. */
    public void setStandardisation(float[] shiftValues, float[] scaleValues) {
        shift = manager.create(shiftValues);
        scale = manager.create(scaleValues);
    }

    public float[] shift() {
        return shift.toFloatArray();
    }

    public float[] scale() {
        return scale.toFloatArray();
    }

    public Map<String, Parameter> suffixParameters() {
        return suffixParams;
    }

    public Parameter headWeight() {
        return headWeight;
    }

    public Parameter headBias() {
        return headBias;
    }

    public Subgraph suffix() {
        return suffix;
    }

    public String suffixInput() {
        return suffixInput;
    }

    public List<String> suffixTaps() {
        return suffixTaps;
    }

    public PoolMode pool() {
        return pool;
    }

    public int classes() {
        return classes;
    }

    /**
     * The head's input vectors before scaling, one row per image (pooled head) or per image cell (patch head): used
     * to calibrate the scale.
     */
    public NDArray features(NDArray cut, NDArray prefixPooled, boolean training) {
        if (isPatchHead()) {
            return cut.reshape(-1, cut.getShape().get(2));
        }
        List<NDArray> parts = new ArrayList<>();
        if (prefixPooledWidth > 0) {
            parts.add(prefixPooled);
        }
        if (!suffix.nodes().isEmpty()) {
            Map<String, NDArray> env = run(cut, training);
            for (String t : suffixTaps) {
                parts.add(poolArray(env.get(t)));
            }
        }
        return parts.size() == 1 ? parts.get(0) : NDArrays.concat(new NDList(parts), 1);
    }

    private NDArray poolArray(NDArray map) {
        NDArray avg = spatialMean(map);
        return switch (pool) {
            case AVG -> avg;
            case MAX -> spatialMax(map);
            case AVGMAX -> NDArrays.concat(new NDList(avg, spatialMax(map)), 1);
            case AVGSTD -> {
                Shape s = map.getShape();
                NDArray meanSq = map.reshape(s.get(0), s.get(1), -1).square().mean(new int[] {2});
                NDArray std = meanSq.sub(avg.square()).maximum(0f).add(PoolMode.STD_EPSILON).sqrt();
                yield NDArrays.concat(new NDList(avg, std), 1);
            }
        };
    }

    private static NDArray spatialMean(NDArray map) {
        Shape s = map.getShape();
        return map.reshape(s.get(0), s.get(1), -1).mean(new int[] {2});
    }

    /** Max over H and W (the PyTorch engine reduces max over one axis at a time). */
    private static NDArray spatialMax(NDArray map) {
        Shape s = map.getShape();
        return map.reshape(s.get(0), s.get(1), -1).max(new int[] {2});
    }

    /** Class logits of every cell, {@code (B,h*w,K)}, from the cell-major patch map {@code (B,h*w,C)}. */
    public NDArray cellLogits(NDArray cells, boolean training) {
        // no dropout here: with hundreds of cells per image, noise in any one of them moves the pooled score of a
        // good part (measured: the training loss grew instead of falling). The standardisation is folded into the
        // weights, (x - shift) * scale . w = x . (w * scale) - shift . (w * scale), so the large input is read once.
        NDArray w = headWeight.getArray().mul(scale);
        NDArray b = headBias.getArray().sub(w.matMul(shift));
        return Linear.linear(cells, w, b).singletonOrThrow();
    }

    /** Log-sum-exp pooling over the cells (axis 1), computed stably around the maximum. */
    private NDArray lsePool(NDArray cellLogits) {
        NDArray max = cellLogits.max(new int[] {1}, true);
        NDArray lse = cellLogits.sub(max).mul(patchPoolR).exp().mean(new int[] {1}).log().div(patchPoolR);
        return lse.add(max.squeeze(1));
    }

    /**
     * The defect map of each image: {@code 1 - P(ok)} of every cell, {@code (B,h*w)} row-major over the grid (patch
     * head only).
     */
    public NDArray defectMap(NDArray map, int okIndex) {
        NDArray p = cellLogits(map, false).softmax(2);
        return p.get(":, :, " + okIndex).neg().add(1f);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        if (isPatchHead()) {
            return new NDList(lsePool(cellLogits(inputs.get(0), training)));
        }
        NDArray x = features(inputs.get(0), inputs.get(1), training).sub(shift).mul(scale);
        if (training && dropout > 0) {
            x = Dropout.dropout(x, dropout, true).singletonOrThrow();
        }
        return Linear.linear(x, headWeight.getArray(), headBias.getArray());
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), classes)};
    }

    private NDArray value(Map<String, NDArray> env, String name) {
        NDArray v = env.get(name);
        if (v == null) {
            Parameter p = suffixParams.get(name);
            v = p != null ? p.getArray() : constants.get(name);
        }
        if (v == null) {
            throw new IllegalStateException("tensor " + name + " is not available in the suffix");
        }
        return v;
    }

    private Map<String, NDArray> run(NDArray cut, boolean training) {
        Map<String, NDArray> env = new HashMap<>();
        env.put(suffixInput, cut);
        for (NodeProto n : suffix.nodes()) {
            NDArray x = value(env, n.getInput(0));
            NDArray y = switch (n.getOpType()) {
                case "Conv" -> conv(n, x, env);
                case "Relu" -> Activation.relu(x);
                case "Clip" -> clip(n, x, env);
                case "Add" -> x.add(value(env, n.getInput(1)));
                case "Sub" -> x.sub(value(env, n.getInput(1)));
                case "Mul" -> x.mul(value(env, n.getInput(1)));
                case "Div" -> x.div(value(env, n.getInput(1)));
                case "Concat" -> {
                    NDList list = new NDList();
                    n.getInputList().forEach(i -> list.add(value(env, i)));
                    yield NDArrays.concat(list, (int) GraphSurgery.attrInt(n, "axis", 1));
                }
                case "MaxPool" -> Pool.maxPool2d(x, shape(GraphSurgery.attrInts(n, "kernel_shape")),
                        shape(GraphSurgery.attrInts(n, "strides", 1, 1)), pads(n),
                        GraphSurgery.attrInt(n, "ceil_mode", 0) == 1);
                case "AveragePool" -> Pool.avgPool2d(x, shape(GraphSurgery.attrInts(n, "kernel_shape")),
                        shape(GraphSurgery.attrInts(n, "strides", 1, 1)), pads(n),
                        GraphSurgery.attrInt(n, "ceil_mode", 0) == 1,
                        GraphSurgery.attrInt(n, "count_include_pad", 0) == 1);
                case "GlobalAveragePool" -> spatialMean(x).expandDims(2).expandDims(3);
                case "GlobalMaxPool" -> spatialMax(x).expandDims(2).expandDims(3);
                case "BatchNormalization" -> BatchNorm.batchNorm(x, value(env, n.getInput(3)),
                        value(env, n.getInput(4)), value(env, n.getInput(1)), value(env, n.getInput(2)), 1,
                        GraphSurgery.attrFloat(n, "momentum", 0.9f), GraphSurgery.attrFloat(n, "epsilon", 1e-5f),
                        training && bnTrain).singletonOrThrow();
                case "Dropout" -> training
                        ? Dropout.dropout(x, GraphSurgery.attrFloat(n, "ratio", 0.5f), true).singletonOrThrow() : x;
                case "Identity" -> x;
                case "Flatten" -> x.reshape(x.getShape().get(0), -1);
                case "Sigmoid" -> Activation.sigmoid(x);
                default -> throw new VigilException("cannot train through the operator " + n.getOpType() + " (node "
                        + n.getName() + "); use a smaller --unfreeze");
            };
            env.put(n.getOutput(0), y);
        }
        return env;
    }

    private NDArray conv(NodeProto n, NDArray x, Map<String, NDArray> env) {
        String autoPad = n.getAttributeList().stream().filter(a -> a.getName().equals("auto_pad"))
                .map(a -> a.getS().toStringUtf8()).findFirst().orElse("NOTSET");
        if (!autoPad.equals("NOTSET") && !autoPad.equals("VALID")) {
            throw new VigilException("cannot train through Conv node " + n.getName() + " with auto_pad=" + autoPad
                    + "; use a smaller --unfreeze");
        }
        NDArray w = value(env, n.getInput(1));
        NDArray b = n.getInputCount() > 2 && !n.getInput(2).isEmpty() ? value(env, n.getInput(2)) : null;
        return Conv2d.conv2d(x, w, b, shape(GraphSurgery.attrInts(n, "strides", 1, 1)), pads(n),
                shape(GraphSurgery.attrInts(n, "dilations", 1, 1)), (int) GraphSurgery.attrInt(n, "group", 1))
                .singletonOrThrow();
    }

    private NDArray clip(NodeProto n, NDArray x, Map<String, NDArray> env) {
        float lo = GraphSurgery.attrFloat(n, "min", -Float.MAX_VALUE);
        float hi = GraphSurgery.attrFloat(n, "max", Float.MAX_VALUE);
        if (n.getInputCount() > 1 && !n.getInput(1).isEmpty()) {
            lo = value(env, n.getInput(1)).getFloat();
        }
        if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
            hi = value(env, n.getInput(2)).getFloat();
        }
        return x.clip(lo, hi);
    }

    private static Shape pads(NodeProto n) {
        long[] p = GraphSurgery.attrInts(n, "pads", 0, 0, 0, 0);
        if (p.length == 4 && (p[0] != p[2] || p[1] != p[3])) {
            throw new VigilException("cannot train through node " + n.getName() + " with asymmetric padding "
                    + java.util.Arrays.toString(p) + "; use a smaller --unfreeze");
        }
        return new Shape(p[0], p[1]);
    }

    private static Shape shape(long[] v) {
        return new Shape(v);
    }

    /** Current values of all suffix parameters as ONNX initializers (for export). */
    public Map<String, TensorProto> suffixInitializers() {
        Map<String, TensorProto> out = new LinkedHashMap<>(suffix.initializers());
        suffixParams.forEach((name, p) -> out.put(name, OnnxTensors.floatTensor(name, p.getArray().getShape()
                .getShape(), p.getArray().toType(DataType.FLOAT32, false).toFloatArray())));
        return out;
    }

    /** A copy of every parameter's values (to keep the best epoch). */
    public Map<String, float[]> snapshot() {
        Map<String, float[]> s = new HashMap<>();
        getParameters().forEach(pair -> s.put(pair.getValue().getName(), pair.getValue().getArray().toFloatArray()));
        return s;
    }

    /**
     * The block of every suffix parameter, counted back from the features (1 = the last block): a node belongs to the
     * first block boundary of {@code anatomy} at or after it in the suffix's topological order. Discriminative
     * learning rates are set from it.
     */
    public Map<String, Integer> parameterBlocks(dev.vigil.trainer.onnx.GraphAnatomy anatomy) {
        Map<String, Integer> out = new HashMap<>();
        List<NodeProto> pending = new ArrayList<>();
        for (NodeProto n : suffix.nodes()) {
            pending.add(n);
            int back = n.getOutputList().stream().mapToInt(anatomy::blocksBack).max().orElse(-1);
            if (back > 0) {
                assignBlock(pending, back, out);
            }
        }
        assignBlock(pending, 1, out);
        return out;
    }

    private void assignBlock(List<NodeProto> nodes, int back, Map<String, Integer> out) {
        for (NodeProto n : nodes) {
            n.getInputList().stream().filter(suffixParams::containsKey).forEach(i -> out.merge(i, back, Math::min));
        }
        nodes.clear();
    }

    /**
     * Takes over a head standardisation and the values of every parameter named in {@code values} (a
     * {@link #snapshot()}): progressive unfreezing's next stage is the last one's network with one more pretrained
     * block in front. Call instead of the calibration, once.
     */
    public void adopt(float[] fromShift, float[] fromScale, Map<String, float[]> values) {
        initHead(fromShift.length, 0);
        setStandardisation(fromShift, fromScale);
        getParameters().forEach(pair -> {
            float[] v = values.get(pair.getValue().getName());
            if (v != null) {
                pair.getValue().getArray().set(v);
            }
        });
    }

    /** Restores a {@link #snapshot()} in place. */
    public void restore(Map<String, float[]> s) {
        getParameters().forEach(pair -> {
            NDArray a = pair.getValue().getArray();
            a.set(s.get(pair.getValue().getName()));
        });
    }
}
