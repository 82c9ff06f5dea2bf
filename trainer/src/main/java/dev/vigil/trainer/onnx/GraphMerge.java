package dev.vigil.trainer.onnx;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Two graphs over the same input as one: the nodes of {@code base} as they are, then the nodes of {@code other},
 * each either <em>shared</em> — {@code base} already has the very same node (operator, attributes, inputs after
 * renaming, outputs) so its result is reused — or added with {@code prefix} before its name, its outputs' names and
 * the names of initializers that differ from {@code base}'s. So two exports of one backbone computing the same early
 * layers run those layers once (a supervised head and an anomaly memory over one squeezenet prefix), and whatever
 * differs (a test-time-augmented batch, a head, a memory) lives side by side without a name clash.
 *
 * <pre>{@code
 * GraphMerge.Merged m = GraphMerge.merge(supervised, anomaly, "vigil_anomaly/");
 * String anomalyMap = m.renamed("defect_map"); // the other graph's output, under its name in the merged graph
 * }</pre>
 */
public final class GraphMerge {
    private GraphMerge() {}

    /**
     * The merged nodes and initializers (graph inputs and outputs are left to the caller, who adds its own nodes).
     *
     * @param builder holds every node and initializer of both graphs, with the base graph's single input
     * @param names the other graph's tensor names → their names in the merged graph
     * @param shared how many of the other graph's nodes were the base graph's already
     */
    public record Merged(GraphBuilder builder, Map<String, String> names, int shared) {
        /** The merged name of a tensor of the other graph. */
        public String renamed(String otherName) {
            String n = names.get(otherName);
            if (n == null) {
                throw new IllegalArgumentException("the merged graph has no tensor '" + otherName + "'");
            }
            return n;
        }
    }

    /**
     * Merges {@code other} into {@code base}: both must read one input of the same name and shape (the same
     * preprocessing), and come from the same opsets.
     */
    public static Merged merge(OnnxGraph base, OnnxGraph other, String prefix) {
        if (!base.inputName().equals(other.inputName())
                || !java.util.Arrays.equals(base.inputDims(), other.inputDims())) {
            throw new IllegalArgumentException("graphs to merge must share their input: " + base.inputName()
                    + java.util.Arrays.toString(base.inputDims()) + " vs " + other.inputName()
                    + java.util.Arrays.toString(other.inputDims()));
        }
        if (base.opsetVersion() != other.opsetVersion()) {
            throw new IllegalArgumentException("graphs to merge must use one opset: " + base.opsetVersion() + " vs "
                    + other.opsetVersion());
        }
        GraphBuilder b = new GraphBuilder(base.model()).name(base.graph().getName());
        b.input(base.input());
        b.nodes(base.nodes());
        base.initializers().values().forEach(b::initializer);

        Map<String, String> names = new HashMap<>();
        names.put(other.inputName(), base.inputName());
        for (TensorProto t : other.initializers().values()) {
            boolean same = base.isInitializer(t.getName()) && base.initializer(t.getName()).equals(t);
            String name = same ? t.getName() : prefix + t.getName();
            names.put(t.getName(), name);
            if (!same) {
                b.initializer(t.toBuilder().setName(name).build());
            }
        }
        int shared = 0;
        for (NodeProto n : other.nodes()) {
            NodeProto.Builder rewired = n.toBuilder().clearInput();
            for (String in : n.getInputList()) {
                rewired.addInput(in.isEmpty() ? in : names.getOrDefault(in, in));
            }
            NodeProto candidate = rewired.build();
            if (!n.getOutputList().isEmpty() && sameNode(base, candidate)) {
                n.getOutputList().forEach(o -> names.put(o, o));
                shared++;
                continue;
            }
            rewired.clearOutput().setName(n.getName().isEmpty() ? "" : prefix + n.getName());
            for (String out : n.getOutputList()) {
                String name = out.isEmpty() ? out : prefix + out;
                names.put(out, name);
                rewired.addOutput(name);
            }
            b.node(rewired.build());
        }
        return new Merged(b, Map.copyOf(names), shared);
    }

    /** Whether {@code base} has a node equal to {@code n} in everything but its name. */
    private static boolean sameNode(OnnxGraph base, NodeProto n) {
        return base.producer(n.getOutput(0)).map(p -> p.toBuilder().setName(n.getName()).build().equals(n))
                .orElse(false);
    }

    /** {@code g} with tensor {@code from} called {@code to} everywhere: where it is made, read, and output. */
    public static OnnxGraph rename(OnnxGraph g, String from, String to) {
        ai.onnx.proto.OnnxMl.GraphProto.Builder gb = g.graph().toBuilder().clearNode();
        for (NodeProto n : g.nodes()) {
            NodeProto.Builder nb = n.toBuilder().clearInput().clearOutput();
            n.getInputList().forEach(i -> nb.addInput(i.equals(from) ? to : i));
            n.getOutputList().forEach(o -> nb.addOutput(o.equals(from) ? to : o));
            gb.addNode(nb.build());
        }
        for (int i = 0; i < gb.getOutputCount(); i++) {
            if (gb.getOutput(i).getName().equals(from)) {
                gb.setOutput(i, gb.getOutput(i).toBuilder().setName(to));
            }
        }
        return new OnnxGraph(g.model().toBuilder().setGraph(gb).build());
    }

    /** {@code g} without the nodes no output needs and the initializers no node reads. */
    public static OnnxGraph prune(OnnxGraph g) {
        List<NodeProto> needed = GraphSurgery.ancestors(g, outputs(g));
        java.util.Set<String> read = new java.util.HashSet<>();
        needed.forEach(n -> read.addAll(n.getInputList()));
        ai.onnx.proto.OnnxMl.GraphProto.Builder gb = g.graph().toBuilder().clearNode().addAllNode(needed)
                .clearInitializer();
        g.initializers().values().stream().filter(t -> read.contains(t.getName())).forEach(gb::addInitializer);
        return new OnnxGraph(g.model().toBuilder().setGraph(gb).build());
    }

    /** The names of the outputs of {@code g}'s graph. */
    public static List<String> outputs(OnnxGraph g) {
        return g.graph().getOutputList().stream().map(v -> v.getName()).toList();
    }
}
