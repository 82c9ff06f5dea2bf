package dev.vigil.trainer.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.vigil.core.VigilException;
import dev.vigil.core.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An immutable view of an ONNX model with the indexes graph surgery needs: initializers by name, the producer and
 * the consumers of every tensor, and the real (non-initializer) graph input.
 *
 * <pre>{@code
 * OnnxGraph g = OnnxGraph.load(Path.of("squeezenet1.1-fp16.onnx")).toFloat32();
 * GraphAnatomy anatomy = GraphAnalysis.analyse(g);
 * }</pre>
 */
public final class OnnxGraph {
    private final ModelProto model;
    private final Map<String, TensorProto> initializers;
    private final Map<String, NodeProto> producers;
    private final Map<String, List<NodeProto>> consumers;

    public OnnxGraph(ModelProto model) {
        this.model = model;
        GraphProto g = model.getGraph();
        Map<String, TensorProto> inits = new LinkedHashMap<>();
        for (TensorProto t : g.getInitializerList()) {
            inits.put(t.getName(), t);
        }
        Map<String, NodeProto> prod = new HashMap<>();
        Map<String, List<NodeProto>> cons = new HashMap<>();
        for (NodeProto n : g.getNodeList()) {
            for (String out : n.getOutputList()) {
                if (!out.isEmpty()) {
                    prod.put(out, n);
                }
            }
            for (String in : n.getInputList()) {
                if (!in.isEmpty()) {
                    cons.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
                }
            }
        }
        this.initializers = Collections.unmodifiableMap(inits);
        this.producers = prod;
        this.consumers = cons;
    }

    /** Reads and checks an ONNX file; a truncated or non-ONNX file gets a message naming it. */
    public static OnnxGraph load(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new VigilException("cannot read ONNX file " + file + ": " + e.getMessage());
        }
        return parse(bytes, file.toString());
    }

    public static OnnxGraph parse(byte[] bytes, String what) {
        ModelProto m;
        try {
            m = ModelProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new VigilException(what + " is not a valid ONNX model (" + e.getMessage()
                    + "); the file may be truncated or corrupt: download it again or give another file");
        }
        if (!m.hasGraph() || m.getGraph().getNodeCount() == 0) {
            throw new VigilException(what + " is not a valid ONNX model: it holds no graph nodes;"
                    + " the file may be truncated or corrupt: download it again or give another file");
        }
        OnnxGraph g = new OnnxGraph(m);
        for (NodeProto n : m.getGraph().getNodeList()) {
            for (String in : n.getInputList()) {
                if (!in.isEmpty() && !g.isInitializer(in) && !g.producers.containsKey(in) && !g.isGraphInput(in)) {
                    throw new VigilException(what + " is not a valid ONNX model: node " + n.getName() + " ("
                            + n.getOpType() + ") reads tensor '" + in + "' that nothing produces;"
                            + " the file may be corrupt: download it again or give another file");
                }
            }
        }
        g.inputName(); // fails clearly if the graph has no single image input
        return g;
    }

    public ModelProto model() {
        return model;
    }

    public GraphProto graph() {
        return model.getGraph();
    }

    public List<NodeProto> nodes() {
        return model.getGraph().getNodeList();
    }

    public Map<String, TensorProto> initializers() {
        return initializers;
    }

    public boolean isInitializer(String name) {
        return initializers.containsKey(name);
    }

    public TensorProto initializer(String name) {
        TensorProto t = initializers.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no initializer named " + name);
        }
        return t;
    }

    public Optional<NodeProto> producer(String tensor) {
        return Optional.ofNullable(producers.get(tensor));
    }

    public List<NodeProto> consumers(String tensor) {
        return consumers.getOrDefault(tensor, List.of());
    }

    private boolean isGraphInput(String name) {
        return model.getGraph().getInputList().stream().anyMatch(v -> v.getName().equals(name));
    }

    /** The one graph input that is not an initializer: the image batch. */
    public String inputName() {
        List<String> real = model.getGraph().getInputList().stream().map(ValueInfoProto::getName)
                .filter(n -> !initializers.containsKey(n)).toList();
        if (real.size() != 1) {
            throw new VigilException("the ONNX model has " + real.size() + " inputs " + real
                    + "; Vigil needs an image classifier with exactly one image input");
        }
        return real.get(0);
    }

    public ValueInfoProto input() {
        String name = inputName();
        return model.getGraph().getInputList().stream().filter(v -> v.getName().equals(name)).findFirst().orElseThrow();
    }

    public String outputName() {
        if (model.getGraph().getOutputCount() != 1) {
            throw new VigilException("the ONNX model has " + model.getGraph().getOutputCount()
                    + " outputs; Vigil needs an image classifier with exactly one output");
        }
        return model.getGraph().getOutput(0).getName();
    }

    public int inputElementType() {
        return input().getType().getTensorType().getElemType();
    }

    /** Input dimensions as declared (0 where symbolic). */
    public long[] inputDims() {
        return input().getType().getTensorType().getShape().getDimList().stream()
                .mapToLong(d -> d.hasDimValue() ? d.getDimValue() : 0).toArray();
    }

    /** Opset version of the default ONNX domain. */
    public long opsetVersion() {
        return model.getOpsetImportList().stream().filter(o -> o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx"))
                .mapToLong(o -> o.getVersion()).findFirst().orElse(1);
    }

    /**
     * The same model with every float16 tensor (weights, inputs, outputs, intermediate types) turned into float32.
     * ONNX Runtime runs fp32 about twice as fast on CPUs, and training needs fp32 anyway.
     */
    public OnnxGraph toFloat32() {
        GraphProto g = model.getGraph();
        boolean any = g.getInitializerList().stream().anyMatch(t -> t.getDataType() == OnnxTensors.FLOAT16)
                || g.getInputList().stream().anyMatch(OnnxGraph::isHalf);
        if (!any) {
            return this;
        }
        GraphProto.Builder b = g.toBuilder();
        b.clearInitializer();
        for (TensorProto t : g.getInitializerList()) {
            b.addInitializer(t.getDataType() == OnnxTensors.FLOAT16 ? OnnxTensors.toFloat32(t) : t);
        }
        replaceHalf(b.getInputBuilderList());
        replaceHalf(b.getOutputBuilderList());
        replaceHalf(b.getValueInfoBuilderList());
        for (NodeProto.Builder n : b.getNodeBuilderList()) {
            for (AttributeProto.Builder a : n.getAttributeBuilderList()) {
                if (n.getOpType().equals("Cast") && a.getName().equals("to") && a.getI() == OnnxTensors.FLOAT16) {
                    a.setI(OnnxTensors.FLOAT);
                }
                if (a.hasT() && a.getT().getDataType() == OnnxTensors.FLOAT16) {
                    a.setT(OnnxTensors.toFloat32(a.getT()));
                }
            }
        }
        return new OnnxGraph(model.toBuilder().setGraph(b).build());
    }

    private static boolean isHalf(ValueInfoProto v) {
        return v.getType().getTensorType().getElemType() == OnnxTensors.FLOAT16;
    }

    private static void replaceHalf(List<ValueInfoProto.Builder> values) {
        for (ValueInfoProto.Builder v : values) {
            if (v.getType().getTensorType().getElemType() == OnnxTensors.FLOAT16) {
                v.getTypeBuilder().getTensorTypeBuilder().setElemType(OnnxTensors.FLOAT);
            }
        }
    }

    /** A float tensor value-info with a symbolic batch dimension and the given other dimensions (0 = symbolic). */
    public static ValueInfoProto floatValueInfo(String name, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] > 0) {
                shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(dims[i]));
            } else {
                shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(i == 0 ? "batch" : "d" + i));
            }
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(OnnxTensors.FLOAT).setShape(shape))).build();
    }

    public byte[] toBytes() {
        return model.toByteArray();
    }

    /** Writes the model through a temporary file and a rename, so a crash never leaves half a model. */
    public void save(Path file) throws IOException {
        AtomicFiles.write(file, toBytes());
    }
}
