package dev.vigil.trainer.onnx;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.vigil.core.VigilException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Finds the structure of a classification network from its graph alone: cut points (tensors every path from input
 * to output passes through), block boundaries (cut points that close a multi-path region such as a Fire module's
 * concat or a residual add), and the feature map the ImageNet classifier reads.
 */
public final class GraphAnalysis {
    /** Ops that carry weights: the last one on the way to the output is the ImageNet classifier. */
    private static final Set<String> WEIGHTED = Set.of("Conv", "Gemm", "MatMul", "QLinearConv", "QLinearMatMul",
            "ConvInteger", "MatMulInteger");
    /** Ops between the feature map and the classifier that do not change what the features mean. */
    private static final Set<String> TRANSPARENT = Set.of("Reshape", "Flatten", "GlobalAveragePool",
            "QLinearGlobalAveragePool", "GlobalMaxPool", "AveragePool", "Dropout", "Squeeze", "Identity",
            "DequantizeLinear", "QuantizeLinear", "ReduceMean");
    /** Element-wise activations that belong to the block they follow. */
    private static final Set<String> ACTIVATIONS = Set.of("Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSwish",
            "HardSigmoid", "Elu", "Selu", "PRelu", "Tanh");
    private static final Set<String> POOLS = Set.of("MaxPool", "AveragePool");

    private GraphAnalysis() {}

    public static GraphAnatomy analyse(OnnxGraph g) {
        String input = g.inputName();
        String output = g.outputName();
        Set<String> relevant = relevantTensors(g, input, output);
        List<String> ordered = new ArrayList<>();
        ordered.add(input);
        for (NodeProto n : g.nodes()) {
            for (String out : n.getOutputList()) {
                if (relevant.contains(out)) {
                    ordered.add(out);
                }
            }
        }
        List<String> cuts = new ArrayList<>();
        for (String t : ordered) {
            if (t.equals(input) || t.equals(output) || !reaches(g, input, output, t)) {
                cuts.add(t);
            }
        }
        String features = findFeatures(g, relevant, cuts);
        int featureIndex = cuts.indexOf(features);
        Set<String> boundaries = new LinkedHashSet<>();
        for (String t : cuts.subList(1, featureIndex)) {
            NodeProto p = g.producer(t).orElseThrow();
            long dataInputs = p.getInputList().stream().filter(relevant::contains).distinct().count();
            if (dataInputs >= 2) {
                boundaries.add(followActivations(g, t, cuts));
            }
        }
        if (boundaries.isEmpty()) {
            // A plain chain (VGG-like): stages end at pooling layers.
            for (String t : cuts.subList(1, featureIndex)) {
                if (POOLS.contains(g.producer(t).orElseThrow().getOpType())) {
                    boundaries.add(t);
                }
            }
        }
        boundaries.remove(features);
        List<String> blocks = new ArrayList<>(boundaries);
        blocks.add(features);
        return new GraphAnatomy(input, output, cuts, blocks, features);
    }

    private static String followActivations(OnnxGraph g, String t, List<String> cuts) {
        String cur = t;
        while (true) {
            List<NodeProto> cons = g.consumers(cur);
            if (cons.size() != 1 || !ACTIVATIONS.contains(cons.get(0).getOpType())) {
                return cur;
            }
            String next = cons.get(0).getOutput(0);
            if (!cuts.contains(next)) {
                return cur;
            }
            cur = next;
        }
    }

    private static String findFeatures(OnnxGraph g, Set<String> relevant, List<String> cuts) {
        NodeProto classifier = null;
        for (NodeProto n : g.nodes()) {
            if (WEIGHTED.contains(n.getOpType()) && n.getOutputList().stream().anyMatch(relevant::contains)) {
                classifier = n;
            }
        }
        if (classifier == null) {
            throw new VigilException("the ONNX graph has no convolution or matrix product on its way to the output;"
                    + " it does not look like an image classifier");
        }
        String t = classifier.getInput(0);
        while (true) {
            NodeProto p = g.producer(t).orElse(null);
            if (p == null || !TRANSPARENT.contains(p.getOpType())) {
                break;
            }
            t = p.getInput(0);
        }
        if (!cuts.contains(t)) {
            throw new VigilException("the feature map '" + t + "' read by the classifier '" + classifier.getName()
                    + "' is not a cut point of the graph; Vigil cannot attach a new head to this network");
        }
        return t;
    }

    /** Tensors on some path from input to output. */
    private static Set<String> relevantTensors(OnnxGraph g, String input, String output) {
        Set<String> forward = new HashSet<>();
        Deque<String> todo = new ArrayDeque<>(List.of(input));
        while (!todo.isEmpty()) {
            String t = todo.pop();
            if (forward.add(t)) {
                for (NodeProto n : g.consumers(t)) {
                    n.getOutputList().stream().filter(o -> !o.isEmpty()).forEach(todo::push);
                }
            }
        }
        Set<String> backward = new HashSet<>();
        todo.push(output);
        while (!todo.isEmpty()) {
            String t = todo.pop();
            if (backward.add(t)) {
                g.producer(t).ifPresent(n -> n.getInputList().stream().filter(i -> !i.isEmpty()).forEach(todo::push));
            }
        }
        forward.retainAll(backward);
        return forward;
    }

    /** Whether the output can be reached from the input without passing through {@code blocked}. */
    private static boolean reaches(OnnxGraph g, String input, String output, String blocked) {
        Set<String> seen = new HashSet<>();
        Deque<String> todo = new ArrayDeque<>(List.of(input));
        while (!todo.isEmpty()) {
            String t = todo.pop();
            if (t.equals(output)) {
                return true;
            }
            if (t.equals(blocked) || !seen.add(t)) {
                continue;
            }
            for (NodeProto n : g.consumers(t)) {
                n.getOutputList().stream().filter(o -> !o.isEmpty()).forEach(todo::push);
            }
        }
        return false;
    }
}
