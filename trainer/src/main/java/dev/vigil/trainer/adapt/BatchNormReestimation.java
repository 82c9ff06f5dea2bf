package dev.vigil.trainer.adapt;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.core.VigilException;
import dev.vigil.core.image.ImageIo;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.features.FeatureExtractor;
import dev.vigil.trainer.onnx.OnnxGraph;
import dev.vigil.trainer.onnx.OnnxTensors;
import dev.vigil.trainer.util.Progress;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Re-estimates the running statistics of the BatchNormalization nodes in a package graph's trainable suffix from
 * frames of a new condition (AdaBN, Li et al. 2016): each node's running mean and variance become the per-channel
 * mean and variance of its input over the frames (every pixel, every test-time variant the graph stacks). Nodes are
 * done in graph order, each measured with the nodes before it already re-estimated, so a node sees what it will see
 * in service. Nodes of the frozen prefix keep the backbone's statistics, as training kept them.
 */
final class BatchNormReestimation {
    private BatchNormReestimation() {}

    /** What changed: the nodes re-estimated and their mean shift (in pretrained standard deviations, averaged). */
    record Outcome(OnnxGraph graph, List<String> nodes, double meanShift) {}

    /** The BatchNormalization nodes fed, directly or not, by tensor {@code cut}, in graph (topological) order. */
    static List<NodeProto> suffixBatchNorms(OnnxGraph g, String cut) {
        Set<String> reached = new HashSet<>();
        ArrayDeque<String> todo = new ArrayDeque<>(List.of(cut));
        Set<NodeProto> downstream = new HashSet<>();
        while (!todo.isEmpty()) {
            String t = todo.pop();
            if (!reached.add(t)) {
                continue;
            }
            for (NodeProto n : g.consumers(t)) {
                if (downstream.add(n)) {
                    todo.addAll(n.getOutputList());
                }
            }
        }
        return g.nodes().stream().filter(n -> n.getOpType().equals("BatchNormalization") && downstream.contains(n))
                .toList();
    }

    /** Re-estimates {@code nodes} of {@code g} on {@code frames}; {@code g} unchanged when there are none. */
    static Outcome reestimate(OnnxGraph g, List<NodeProto> nodes, Preprocessing pre, List<Path> frames,
            PrintStream log) {
        if (nodes.isEmpty()) {
            return new Outcome(g, List.of(), 0);
        }
        OnnxGraph current = g;
        double shift = 0;
        List<String> names = new ArrayList<>();
        try (Progress progress = new Progress(log, "BatchNorm statistics", nodes.size())) {
            for (NodeProto bn : nodes) {
                String x = bn.getInput(0);
                double[][] stats = channelStats(current, x, frames, pre);
                float[] mean = new float[stats[0].length];
                float[] var = new float[stats[0].length];
                TensorProto oldMean = current.initializer(bn.getInput(3));
                TensorProto oldVar = current.initializer(bn.getInput(4));
                if (oldMean == null || oldVar == null) {
                    throw new VigilException("BatchNormalization node '" + bn.getName() + "' reads its statistics"
                            + " from a computed tensor, not the graph's weights; adapt cannot re-estimate them");
                }
                float[] m0 = OnnxTensors.toFloats(oldMean);
                float[] v0 = OnnxTensors.toFloats(oldVar);
                for (int c = 0; c < mean.length; c++) {
                    mean[c] = (float) stats[0][c];
                    var[c] = (float) Math.max(stats[1][c], 0);
                    shift += Math.abs(mean[c] - m0[c]) / Math.sqrt(v0[c] + 1e-5) / mean.length / nodes.size();
                }
                current = replace(current, Map.of(
                        bn.getInput(3), OnnxTensors.floatTensor(bn.getInput(3), OnnxTensors.dims(oldMean), mean),
                        bn.getInput(4), OnnxTensors.floatTensor(bn.getInput(4), OnnxTensors.dims(oldVar), var)));
                names.add(bn.getName().isEmpty() ? bn.getOutput(0) : bn.getName());
                progress.step(1);
            }
        }
        return new Outcome(current, names, shift);
    }

    /**
     * Per-channel mean and (population) variance of tensor {@code x} ({@code [N,C,...]}) over every frame; the frames
     * are read a few at a time (the service may hand over thousands).
     */
    private static double[][] channelStats(OnnxGraph g, String x, List<Path> frames, Preprocessing pre) {
        // an output of any shape: the tensor is [N,C,H,W] in a convolutional suffix
        GraphProto exposed = g.graph().toBuilder().addOutput(ai.onnx.proto.OnnxMl.ValueInfoProto.newBuilder()
                .setName(x).setType(ai.onnx.proto.OnnxMl.TypeProto.newBuilder().setTensorType(
                        ai.onnx.proto.OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxTensors.FLOAT)))).build();
        byte[] model = g.model().toBuilder().setGraph(exposed).build().toByteArray();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        double[] sum = null;
        double[] sq = null;
        long perChannel = 0;
        int per = pre.valuesPerImage();
        float[] batch = new float[4 * per];
        try (OrtSession s = env.createSession(model, FeatureExtractor.sessionOptions())) {
            for (int from = 0; from < frames.size(); from += 4) {
                int n = Math.min(4, frames.size() - from);
                for (int i = 0; i < n; i++) {
                    Path p = frames.get(from + i);
                    float[] v = ImageIo.preprocess(ImageIo.read(p), pre, Variant.ORIGINAL, p.toString());
                    System.arraycopy(v, 0, batch, i * per, v.length);
                }
                try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch, 0, n * per),
                        new long[] {n, 3, pre.height(), pre.width()});
                        OrtSession.Result r = s.run(Map.of(g.inputName(), in), Set.of(x))) {
                    OnnxTensor t = (OnnxTensor) r.get(x).orElseThrow();
                    long[] shape = t.getInfo().getShape();
                    int c = (int) shape[1];
                    long spatial = 1;
                    for (int i = 2; i < shape.length; i++) {
                        spatial *= shape[i];
                    }
                    if (sum == null) {
                        sum = new double[c];
                        sq = new double[c];
                    }
                    FloatBuffer fb = t.getFloatBuffer();
                    for (long b = 0; b < shape[0]; b++) {
                        for (int ch = 0; ch < c; ch++) {
                            for (long k = 0; k < spatial; k++) {
                                double v = fb.get();
                                sum[ch] += v;
                                sq[ch] += v * v;
                            }
                        }
                    }
                    perChannel += shape[0] * spatial;
                }
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime cannot run the package's graph to measure '" + x + "': "
                    + e.getMessage(), e);
        }
        double[][] out = new double[2][sum.length];
        for (int ch = 0; ch < sum.length; ch++) {
            out[0][ch] = sum[ch] / perChannel;
            out[1][ch] = sq[ch] / perChannel - out[0][ch] * out[0][ch];
        }
        return out;
    }

    private static OnnxGraph replace(OnnxGraph g, Map<String, TensorProto> replace) {
        GraphProto.Builder gb = g.graph().toBuilder().clearInitializer();
        for (TensorProto t : g.graph().getInitializerList()) {
            gb.addInitializer(replace.getOrDefault(t.getName(), t));
        }
        return new OnnxGraph(g.model().toBuilder().setGraph(gb).build());
    }
}
