package dev.vigil.trainer.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Assembles a new ONNX model from nodes and initializers, keeping the source model's opsets. */
public final class GraphBuilder {
    private final ModelProto source;
    private final List<NodeProto> nodes = new ArrayList<>();
    private final Map<String, TensorProto> initializers = new LinkedHashMap<>();
    private final List<ValueInfoProto> inputs = new ArrayList<>();
    private final List<ValueInfoProto> outputs = new ArrayList<>();
    private String name = "vigil";

    public GraphBuilder(ModelProto source) {
        this.source = source;
    }

    public GraphBuilder name(String graphName) {
        this.name = graphName;
        return this;
    }

    public GraphBuilder node(NodeProto n) {
        nodes.add(n);
        return this;
    }

    public GraphBuilder nodes(List<NodeProto> ns) {
        nodes.addAll(ns);
        return this;
    }

    public GraphBuilder initializer(TensorProto t) {
        initializers.put(t.getName(), t);
        return this;
    }

    public GraphBuilder input(ValueInfoProto v) {
        inputs.add(v);
        return this;
    }

    public GraphBuilder output(ValueInfoProto v) {
        outputs.add(v);
        return this;
    }

    /** Makes every node added so far read {@code to} where it read {@code from}. */
    public GraphBuilder rewireInput(String from, String to) {
        for (int i = 0; i < nodes.size(); i++) {
            NodeProto n = nodes.get(i);
            if (n.getInputList().contains(from)) {
                NodeProto.Builder nb = n.toBuilder().clearInput();
                n.getInputList().forEach(in -> nb.addInput(in.equals(from) ? to : in));
                nodes.set(i, nb.build());
            }
        }
        return this;
    }

    /** The default-domain opset version of the source model. */
    public long opset() {
        return source.getOpsetImportList().stream().filter(o -> o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx"))
                .mapToLong(OperatorSetIdProto::getVersion).max().orElse(1);
    }

    /** Adds the initializers of {@code from} that the nodes added so far read. */
    public GraphBuilder initializersUsedFrom(OnnxGraph from) {
        for (NodeProto n : nodes) {
            for (String in : n.getInputList()) {
                if (from.isInitializer(in) && !initializers.containsKey(in)) {
                    initializers.put(in, from.initializer(in));
                }
            }
        }
        return this;
    }

    public OnnxGraph build() {
        GraphProto.Builder g = GraphProto.newBuilder().setName(name).addAllNode(nodes)
                .addAllInitializer(initializers.values()).addAllInput(inputs).addAllOutput(outputs);
        ModelProto.Builder m = ModelProto.newBuilder().setIrVersion(Math.max(source.getIrVersion(), 3))
                .setProducerName("vigil").setProducerVersion(dev.vigil.core.VigilVersion.VALUE).setGraph(g);
        for (OperatorSetIdProto o : source.getOpsetImportList()) {
            m.addOpsetImport(o);
        }
        return new OnnxGraph(m.build());
    }

    public static NodeProto node(String op, String nodeName, List<String> in, List<String> out,
            AttributeProto... attrs) {
        NodeProto.Builder b = NodeProto.newBuilder().setOpType(op).setName(nodeName).addAllInput(in).addAllOutput(out);
        for (AttributeProto a : attrs) {
            b.addAttribute(a);
        }
        return b.build();
    }

    public static AttributeProto intAttr(String n, long v) {
        return AttributeProto.newBuilder().setName(n).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    public static AttributeProto floatAttr(String n, float v) {
        return AttributeProto.newBuilder().setName(n).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    public static AttributeProto intsAttr(String n, long... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(n).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) {
            b.addInts(x);
        }
        return b.build();
    }
}
