package dev.vigil.trainer.onnx;

import static dev.vigil.trainer.onnx.GraphBuilder.floatAttr;
import static dev.vigil.trainer.onnx.GraphBuilder.node;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.vigil.core.VigilException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Cuts a backbone into a frozen prefix and a trainable suffix, and lowers quantized suffix operators to float ones
 * so that they can be trained (the prefix keeps running quantized, exactly as published).
 */
public final class GraphSurgery {
    private GraphSurgery() {}

    /** Scale and zero-point initializer names of a quantized (uint8/int8) tensor. */
    public record QuantParams(String scale, String zeroPoint) {}

    /** Float nodes and the initializers they read: a subgraph ready for the DJL interpreter and for export. */
    public record Subgraph(List<NodeProto> nodes, Map<String, TensorProto> initializers) {
        public Subgraph {
            nodes = List.copyOf(nodes);
            initializers = Map.copyOf(initializers);
        }
    }

    /** The nodes needed to compute {@code outputs}, in graph order. */
    public static List<NodeProto> ancestors(OnnxGraph g, List<String> outputs) {
        Set<NodeProto> needed = new HashSet<>();
        Deque<String> todo = new ArrayDeque<>(outputs);
        while (!todo.isEmpty()) {
            g.producer(todo.pop()).ifPresent(n -> {
                if (needed.add(n)) {
                    n.getInputList().stream().filter(i -> !i.isEmpty()).forEach(todo::push);
                }
            });
        }
        return g.nodes().stream().filter(needed::contains).toList();
    }

    /** Nodes needed for {@code to} that are not needed for {@code from} (the part of the graph between them). */
    public static List<NodeProto> between(OnnxGraph g, String from, String to) {
        Set<NodeProto> before = new HashSet<>(ancestors(g, List.of(from)));
        return ancestors(g, List.of(to)).stream().filter(n -> !before.contains(n)).toList();
    }

    public static Optional<QuantParams> quantParams(OnnxGraph g, String tensor) {
        NodeProto p = g.producer(tensor).orElse(null);
        if (p == null) {
            return Optional.empty();
        }
        return switch (p.getOpType()) {
            case "QuantizeLinear" -> Optional.of(new QuantParams(p.getInput(1), p.getInput(2)));
            case "QLinearConv", "QLinearAdd", "QLinearMatMul", "QLinearMul" ->
                    Optional.of(new QuantParams(p.getInput(6), p.getInput(7)));
            case "QLinearGlobalAveragePool" -> Optional.of(new QuantParams(p.getInput(3), p.getInput(4)));
            case "QLinearConcat" -> Optional.of(new QuantParams(p.getInput(0), p.getInput(1)));
            default -> Optional.empty();
        };
    }

    /** The name under which the float value of {@code tensor} is available (itself, or its dequantized twin). */
    public static String floatName(OnnxGraph g, String tensor) {
        return quantParams(g, tensor).isPresent() ? tensor + "_dequantized" : tensor;
    }

    /** DequantizeLinear nodes that give quantized {@code tensors} float twins (nothing for float tensors). */
    public static List<NodeProto> dequantizers(OnnxGraph g, List<String> tensors) {
        List<NodeProto> out = new ArrayList<>();
        for (String t : new LinkedHashSet<>(tensors)) {
            quantParams(g, t).ifPresent(q -> out.add(node("DequantizeLinear", "vigil_dequantize_" + t,
                    List.of(t, q.scale(), q.zeroPoint()), List.of(floatName(g, t)))));
        }
        return out;
    }

    /**
     * A model that computes the float values of {@code outputs} from an image batch of {@code height x width}
     * (batch size symbolic). Intermediate shape annotations are dropped: they would pin the original input size.
     */
    public static OnnxGraph prefix(OnnxGraph g, int height, int width, List<String> outputs) {
        GraphBuilder b = new GraphBuilder(g.model()).name("vigil-prefix");
        b.nodes(ancestors(g, outputs)).nodes(dequantizers(g, outputs)).initializersUsedFrom(g);
        b.input(OnnxGraph.floatValueInfo(g.inputName(), 0, 3, height, width));
        for (String t : new LinkedHashSet<>(outputs)) {
            b.output(OnnxGraph.floatValueInfo(floatName(g, t), 0, 0, 0, 0));
        }
        return b.build();
    }

    /**
     * The float subgraph from {@code from} to {@code to}; it reads {@code floatName(from)}. Quantized operators
     * become their float equivalents: weights are dequantized, and the output quantization's saturation becomes a
     * Clip (that is where a quantized network keeps its ReLU6).
     */
    public static Subgraph floatSuffix(OnnxGraph g, String from, String to) {
        List<NodeProto> original = between(g, from, to);
        Map<String, String> rename = new HashMap<>();
        rename.put(from, floatName(g, from));
        List<NodeProto> nodes = new ArrayList<>();
        Map<String, TensorProto> inits = new LinkedHashMap<>();
        boolean clipInputs = g.opsetVersion() >= 11;
        for (NodeProto n : original) {
            List<String> in = n.getInputList().stream().map(i -> rename.getOrDefault(i, i)).toList();
            switch (n.getOpType()) {
                case "QLinearConv" -> {
                    String out = n.getOutput(0);
                    String w = n.getInput(3) + "_float";
                    inits.put(w, dequantize(g, w, n.getInput(3), n.getInput(4), n.getInput(5)));
                    List<String> convIn = new ArrayList<>(List.of(in.get(0), w));
                    if (n.getInputCount() > 8 && !n.getInput(8).isEmpty()) {
                        String bias = n.getInput(8) + "_float";
                        inits.put(bias, dequantizeBias(g, bias, n.getInput(8), n.getInput(1), n.getInput(4)));
                        convIn.add(bias);
                    }
                    NodeProto conv = n.toBuilder().setOpType("Conv").setDomain("").clearInput().addAllInput(convIn)
                            .setOutput(0, out + "_preclip").build();
                    nodes.add(conv);
                    nodes.add(saturation(g, out + "_preclip", out, n.getInput(6), n.getInput(7), clipInputs, inits));
                }
                case "QLinearAdd" -> {
                    String out = n.getOutput(0);
                    nodes.add(node("Add", n.getName() + "_float", List.of(in.get(0), in.get(3)),
                            List.of(out + "_preclip")));
                    nodes.add(saturation(g, out + "_preclip", out, n.getInput(6), n.getInput(7), clipInputs, inits));
                }
                case "QLinearGlobalAveragePool" -> nodes.add(node("GlobalAveragePool", n.getName() + "_float",
                        List.of(in.get(0)), List.of(n.getOutput(0))));
                case "DequantizeLinear", "QuantizeLinear" -> nodes.add(node("Identity", n.getName() + "_float",
                        List.of(in.get(0)), List.of(n.getOutput(0))));
                default -> {
                    if (n.getOpType().startsWith("QLinear") || n.getOpType().contains("Integer")) {
                        throw new VigilException("cannot train through the quantized operator " + n.getOpType()
                                + " (node " + n.getName() + "); use a smaller --unfreeze");
                    }
                    nodes.add(n.toBuilder().clearInput().addAllInput(in).build());
                    for (String i : n.getInputList()) {
                        if (g.isInitializer(i)) {
                            inits.put(i, OnnxTensors.toFloat32IfHalf(g.initializer(i)));
                        }
                    }
                }
            }
        }
        return new Subgraph(nodes, inits);
    }

    private static NodeProto saturation(OnnxGraph g, String in, String out, String scaleName, String zpName,
            boolean clipInputs, Map<String, TensorProto> inits) {
        float scale = OnnxTensors.toFloats(g.initializer(scaleName))[0];
        TensorProto zpT = g.initializer(zpName);
        float zp = OnnxTensors.toFloats(zpT)[0];
        boolean signed = zpT.getDataType() == OnnxTensors.INT8;
        float lo = ((signed ? -128 : 0) - zp) * scale;
        float hi = ((signed ? 127 : 255) - zp) * scale;
        if (clipInputs) {
            String min = out + "_clip_min";
            String max = out + "_clip_max";
            inits.put(min, OnnxTensors.floatTensor(min, new long[0], new float[] {lo}));
            inits.put(max, OnnxTensors.floatTensor(max, new long[0], new float[] {hi}));
            return node("Clip", out + "_saturate", List.of(in, min, max), List.of(out));
        }
        return node("Clip", out + "_saturate", List.of(in), List.of(out), floatAttr("min", lo), floatAttr("max", hi));
    }

    private static TensorProto dequantize(OnnxGraph g, String name, String q, String scale, String zp) {
        TensorProto qt = g.initializer(q);
        float[] v = OnnxTensors.toFloats(qt);
        float[] s = OnnxTensors.toFloats(g.initializer(scale));
        float[] z = OnnxTensors.toFloats(g.initializer(zp));
        long[] dims = OnnxTensors.dims(qt);
        int perChannel = v.length / (int) dims[0];
        for (int i = 0; i < v.length; i++) {
            int c = s.length == 1 ? 0 : i / perChannel;
            v[i] = (v[i] - z[z.length == 1 ? 0 : c]) * s[c];
        }
        return OnnxTensors.floatTensor(name, dims, v);
    }

    private static TensorProto dequantizeBias(OnnxGraph g, String name, String q, String xScale, String wScale) {
        TensorProto qt = g.initializer(q);
        float[] v = OnnxTensors.toFloats(qt);
        float xs = OnnxTensors.toFloats(g.initializer(xScale))[0];
        float[] ws = OnnxTensors.toFloats(g.initializer(wScale));
        for (int i = 0; i < v.length; i++) {
            v[i] = v[i] * xs * ws[ws.length == 1 ? 0 : i];
        }
        return OnnxTensors.floatTensor(name, OnnxTensors.dims(qt), v);
    }

    /** Reads an int attribute, with a default. */
    public static long attrInt(NodeProto n, String name, long dflt) {
        return n.getAttributeList().stream().filter(a -> a.getName().equals(name)).mapToLong(AttributeProto::getI)
                .findFirst().orElse(dflt);
    }

    public static float attrFloat(NodeProto n, String name, float dflt) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getF();
            }
        }
        return dflt;
    }

    public static long[] attrInts(NodeProto n, String name, long... dflt) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getIntsList().stream().mapToLong(Long::longValue).toArray();
            }
        }
        return dflt;
    }
}
