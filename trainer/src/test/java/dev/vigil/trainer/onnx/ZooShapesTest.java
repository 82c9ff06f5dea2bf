package dev.vigil.trainer.onnx;

import static dev.vigil.trainer.onnx.GraphBuilder.floatAttr;
import static dev.vigil.trainer.onnx.GraphBuilder.intAttr;
import static dev.vigil.trainer.onnx.GraphBuilder.intsAttr;
import static dev.vigil.trainer.onnx.GraphBuilder.node;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.vigil.core.VigilException;
import dev.vigil.core.image.Variant;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneCatalog;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.features.PoolMode;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.trainer.train.Finetune;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TransferTrainer;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ONNX Model Zoo backbones of the catalog cannot be downloaded where Vigil is built, so graph analysis is checked
 * on small graphs built here in their shapes: an opset-7 pre-activation ResNet (BatchNorm, residual adds, Flatten +
 * Gemm), an opset-12 ShuffleNet V2 unit (Split, channel shuffle, Concat) and an opset-13 QDQ-quantized residual
 * network (QuantizeLinear / DequantizeLinear around every convolution). Each also runs on ONNX Runtime; the ResNet
 * trains a BatchNorm block and exports a package the two runtimes agree on.
 */
public class ZooShapesTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @TempDir
    Path tmp;

    /** A graph under construction with seeded random weights. */
    private static final class Net {
        final List<NodeProto> nodes = new ArrayList<>();
        final List<TensorProto> inits = new ArrayList<>();
        final Random rnd = new Random(7);
        int n;

        String conv(String x, int in, int out, int k, int stride) {
            String w = "w" + n;
            String b = "b" + n;
            inits.add(random(w, new long[] {out, in, k, k}, Math.sqrt(2.0 / (in * k * k))));
            inits.add(OnnxTensors.floatTensor(b, new long[] {out}, new float[out]));
            return op("Conv", List.of(x, w, b), intsAttr("kernel_shape", k, k), intsAttr("strides", stride, stride),
                    intsAttr("pads", k / 2, k / 2, k / 2, k / 2));
        }

        String bn(String x, int c) {
            String p = "bn" + n;
            float[] ones = new float[c];
            java.util.Arrays.fill(ones, 1f);
            float[] mean = new float[c];
            float[] var = new float[c];
            for (int i = 0; i < c; i++) {
                mean[i] = (float) (rnd.nextGaussian() * 0.1);
                var[i] = (float) (0.5 + rnd.nextDouble());
            }
            inits.add(OnnxTensors.floatTensor(p + "_g", new long[] {c}, ones));
            inits.add(OnnxTensors.floatTensor(p + "_b", new long[] {c}, new float[c]));
            inits.add(OnnxTensors.floatTensor(p + "_m", new long[] {c}, mean));
            inits.add(OnnxTensors.floatTensor(p + "_v", new long[] {c}, var));
            return op("BatchNormalization", List.of(x, p + "_g", p + "_b", p + "_m", p + "_v"),
                    floatAttr("epsilon", 1e-5f));
        }

        String op(String type, List<String> in, AttributeProto... attrs) {
            String out = type.toLowerCase() + "_" + n++;
            nodes.add(node(type, out, in, List.of(out), attrs));
            return out;
        }

        TensorProto random(String name, long[] dims, double sd) {
            int size = 1;
            for (long d : dims) {
                size *= (int) d;
            }
            float[] v = new float[size];
            for (int i = 0; i < size; i++) {
                v[i] = (float) (rnd.nextGaussian() * sd);
            }
            return OnnxTensors.floatTensor(name, dims, v);
        }

        /** GlobalAveragePool, Flatten, a 10-class Gemm. */
        String classifier(String x, int c) {
            String f = op("Flatten", List.of(op("GlobalAveragePool", List.of(x))), intAttr("axis", 1));
            inits.add(random("fc_w", new long[] {10, c}, 0.1));
            inits.add(OnnxTensors.floatTensor("fc_b", new long[] {10}, new float[10]));
            return op("Gemm", List.of(f, "fc_w", "fc_b"), intAttr("transB", 1));
        }

        OnnxGraph build(int opset, String output, int size) {
            GraphProto g = GraphProto.newBuilder().setName("zoo-shape").addAllNode(nodes).addAllInitializer(inits)
                    .addInput(OnnxGraph.floatValueInfo("data", 1, 3, size, size))
                    .addOutput(OnnxGraph.floatValueInfo(output, 1, 10)).build();
            return new OnnxGraph(ModelProto.newBuilder().setIrVersion(opset >= 13 ? 7 : 3)
                    .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(opset)).setGraph(g).build());
        }
    }

    /** Opset 7, pre-activation units: BN, Relu, Conv, BN, Relu, Conv, + shortcut; a final BN and Relu. */
    public static OnnxGraph resnetV2(int size) {
        Net net = new Net();
        String x = net.conv("data", 3, 8, 3, 2);
        List<String> adds = new ArrayList<>();
        for (int unit = 0; unit < 2; unit++) {
            String y = net.op("Relu", List.of(net.bn(x, 8)));
            y = net.conv(y, 8, 8, 3, 1);
            y = net.op("Relu", List.of(net.bn(y, 8)));
            y = net.conv(y, 8, 8, 3, 1);
            x = net.op("Add", List.of(y, x));
            adds.add(x);
        }
        String features = net.op("Relu", List.of(net.bn(x, 8)));
        String out = net.classifier(features, 8);
        return net.build(7, out, size);
    }

    @Test
    void anOpset7PreActivationResNetHasItsResidualAddsAsBlocks() throws Exception {
        OnnxGraph g = resnetV2(32);
        GraphAnatomy a = GraphAnalysis.analyse(g);
        assertEquals(3, a.blocks().size(), a.blocks().toString());
        assertTrue(g.producer(a.blocks().get(0)).orElseThrow().getOpType().equals("Add"), a.blocks().toString());
        assertTrue(g.producer(a.blocks().get(1)).orElseThrow().getOpType().equals("Add"), a.blocks().toString());
        assertEquals("Relu", g.producer(a.features()).orElseThrow().getOpType(), "the final pre-activation Relu");
        assertEquals(a.blocks().get(1), a.cutFor(1));
        runs(g, 32);
    }

    @Test
    void aBatchNormBlockTrainsAndExportsWhatOnnxRuntimeAgreesWith() throws Exception {
        Path file = tmp.resolve("resnet-v2-shape.onnx");
        resnetV2(32).save(file);
        Backbone bb = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(file.toString());
        Path neu = SharedAssets.subset(SharedAssets.neu(), tmp.resolve("neu"), 0, 4);
        for (boolean bnTrain : new boolean[] {false, true}) {
            TrainOptions o = TrainOptions.defaults().withUnfreeze(1).withEpochs(2).withFolds(0).withRefit(false)
                    .withAugment(List.of(Variant.ORIGINAL)).withTta(false).withHead(32, List.of(0), PoolMode.AVGMAX)
                    .withFinetune(new Finetune(0.5f, bnTrain, 0));
            try (TransferTrainer t = new TransferTrainer(bb, ImageDataset.scan(neu, 2), o, tmp.resolve("cache"),
                    QUIET)) {
                t.train();
                ModelPackage pkg = new ModelExporter(t).write(tmp.resolve("pkg-" + bnTrain));
                String report = Files.readString(pkg.dir().resolve(ModelPackage.REPORT));
                double diff = ModelPackage.json().readTree(report).at("/verification/maxAbsDiff").asDouble();
                assertTrue(diff <= 1e-4, "bn " + bnTrain + ": verification diff " + diff);
                // frozen: the running statistics in the package are the backbone's; trained: they moved
                OnnxGraph exported = OnnxGraph.load(pkg.modelFile());
                OnnxGraph original = resnetV2(32);
                boolean moved = false;
                for (TensorProto init : original.graph().getInitializerList()) {
                    if (init.getName().endsWith("_m") && exported.initializer(init.getName()) != null
                            && t.network().suffixParameters().containsKey(init.getName())) {
                        float[] a = OnnxTensors.toFloats(init);
                        float[] b = OnnxTensors.toFloats(exported.initializer(init.getName()));
                        moved |= !java.util.Arrays.equals(a, b);
                    }
                }
                assertEquals(bnTrain, moved, "running means in the trained block moved: " + moved);
            }
        }
    }

    /** Opset 12: stem conv, then ShuffleNet V2 units (Split, a branch, Concat, Reshape-Transpose-Reshape shuffle). */
    static OnnxGraph shufflenetV2(int size) {
        // the channel shuffle's shapes are spelled out (a 0 in a Reshape copies a dimension only where it exists)
        Net net = new Net();
        String x = net.conv("data", 3, 8, 3, 2);
        for (int unit = 0; unit < 2; unit++) {
            String a = "split_a_" + unit;
            String b = "split_b_" + unit;
            net.nodes.add(node("Split", "split_" + unit, List.of(x), List.of(a, b), intAttr("axis", 1),
                    intsAttr("split", 4, 4)));
            String y = net.op("Relu", List.of(net.conv(b, 4, 4, 1, 1)));
            y = net.conv(y, 4, 4, 3, 1);
            String cat = net.op("Concat", List.of(a, y), intAttr("axis", 1));
            int side = size / 2;
            net.inits.add(OnnxTensors.longTensor("shape5_" + unit, new long[] {5}, new long[] {0, 2, 4, side,
                    side}));
            net.inits.add(OnnxTensors.longTensor("shape4_" + unit, new long[] {4}, new long[] {0, 8, side, side}));
            String r = net.op("Reshape", List.of(cat, "shape5_" + unit));
            String t = net.op("Transpose", List.of(r), intsAttr("perm", 0, 2, 1, 3, 4));
            x = net.op("Reshape", List.of(t, "shape4_" + unit));
        }
        String features = net.op("Relu", List.of(net.conv(x, 8, 16, 1, 1)));
        return net.build(12, net.classifier(features, 16), size);
    }

    @Test
    void anOpset12ShuffleNetUnitEndsAtItsConcatAndSaysItCannotBeTrainedThrough() throws Exception {
        OnnxGraph g = shufflenetV2(32);
        GraphAnatomy a = GraphAnalysis.analyse(g);
        assertTrue(a.blocks().size() >= 3, a.blocks().toString());
        assertEquals("Concat", g.producer(a.blocks().get(0)).orElseThrow().getOpType(), a.blocks().toString());
        assertTrue(!a.cutPoints().contains("split_b_0"), "a branch of the split is not a cut point");
        runs(g, 32);
        var suffix = GraphSurgery.floatSuffix(g, a.blocks().get(0), a.features());
        var net = new dev.vigil.trainer.train.TransferNetwork(ai.djl.engine.Engine.getEngine("PyTorch")
                .newBaseManager(), suffix, a.blocks().get(0), List.of(a.features()), 0, PoolMode.AVG, 2, 0f, false,
                false, 1);
        VigilException e = assertThrows(VigilException.class, () -> net.features(
                ai.djl.engine.Engine.getEngine("PyTorch").newBaseManager().ones(new ai.djl.ndarray.types.Shape(1, 8,
                        16, 16)), null, false));
        assertTrue(e.getMessage().startsWith("cannot train through the operator"), e.getMessage());
    }

    /** Opset 13, QDQ format: every convolution reads DequantizeLinear(QuantizeLinear(x)); a residual Add. */
    static OnnxGraph qdqResidual(int size) {
        Net net = new Net();
        net.inits.add(OnnxTensors.floatTensor("q_scale", new long[0], new float[] {0.05f}));
        net.inits.add(uint8("q_zero", 128));
        String x = net.conv(qdq(net, "data"), 3, 8, 3, 2);
        for (int unit = 0; unit < 2; unit++) {
            String y = net.op("Relu", List.of(net.conv(qdq(net, x), 8, 8, 3, 1)));
            y = net.conv(qdq(net, y), 8, 8, 3, 1);
            x = net.op("Relu", List.of(net.op("Add", List.of(qdq(net, y), qdq(net, x)))));
        }
        return net.build(13, net.classifier(qdq(net, x), 8), size);
    }

    private static String qdq(Net net, String x) {
        String q = net.op("QuantizeLinear", List.of(x, "q_scale", "q_zero"));
        return net.op("DequantizeLinear", List.of(q, "q_scale", "q_zero"));
    }

    private static TensorProto uint8(String name, int v) {
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.UINT8_VALUE)
                .setRawData(com.google.protobuf.ByteString.copyFrom(new byte[] {(byte) v})).build();
    }

    @Test
    void aQdqQuantizedResidualNetworkHasItsAddAsABlockAndTheLastMapAsFeatures() throws Exception {
        OnnxGraph g = qdqResidual(32);
        GraphAnatomy a = GraphAnalysis.analyse(g);
        assertEquals(2, a.blocks().size(), a.blocks().toString());
        assertEquals("Relu", g.producer(a.features()).orElseThrow().getOpType(),
                "the features: the map the classifier reads, under its quantize pair");
        // the first unit's block ends after the activation that follows its residual add
        NodeProto relu = g.producer(a.blocks().get(0)).orElseThrow();
        assertEquals("Relu", relu.getOpType(), a.blocks().toString());
        assertEquals("Add", g.producer(relu.getInput(0)).orElseThrow().getOpType());
        runs(g, 32);
    }

    @Test
    void theCatalogPinsEveryZooFileAndLeavesItsBlocksToAnalysis() {
        for (var spec : List.of(BackboneCatalog.RESNET18_V2, BackboneCatalog.RESNET50_V1_INT8,
                BackboneCatalog.SHUFFLENET_V2, BackboneCatalog.DENSENET121)) {
            assertTrue(spec.sha256().matches("[0-9a-f]{64}"), spec.name());
            assertTrue(spec.url().startsWith("https://github.com/onnx/models/raw/main/validated/vision/"), spec.url());
            assertTrue(spec.sizeBytes() > 1_000_000, spec.name());
            assertTrue(spec.blocks().isEmpty(), spec.name() + ": found by analysis on first use");
            assertEquals(spec, BackboneCatalog.bySha256(spec.sha256()).orElseThrow());
        }
    }

    /** ONNX Runtime loads the graph and gives ten scores for an image. */
    private static void runs(OnnxGraph g, int size) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(g.toBytes(), new OrtSession.SessionOptions());
                OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[3 * size * size]),
                        new long[] {1, 3, size, size});
                OrtSession.Result r = s.run(Map.of("data", in))) {
            assertEquals(10, ((float[][]) r.get(0).getValue())[0].length);
        }
    }
}
