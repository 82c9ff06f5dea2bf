package dev.vigil.trainer.model;

import dev.vigil.core.model.Manifest;
import dev.vigil.core.model.ModelPackage;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.trainer.onnx.GraphBuilder;
import dev.vigil.trainer.onnx.OnnxGraph;
import dev.vigil.trainer.onnx.OnnxTensors;
import dev.vigil.core.Hashing;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Model packages with a defect map, made without training: real ONNX graphs, built with the trainer's own
 * {@link GraphBuilder}, whose map is the input's brightness. The image is normalised with mean 0.5 and std 0.25
 * ({@code /255}), averaged over the channels, average-pooled over {@code cell x cell} input pixels, and
 * {@code sigmoid(4 * (v - 1))} of that is the {@code defect_map}: a white cell scores 0.98, the mean-grey letterbox
 * padding 0.02, anything darker about 0. The probabilities (labels {@code defective}, {@code ok}) are a softmax of
 * {@code ±max(4 * (v - 1))}, so a frame with one white cell is a defect (0.9997) and a dark frame is ok. A test puts a
 * bright spot at a known place in a frame and checks where the map says it is.
 *
 * <p>The graph lists the map output before the probabilities on purpose: readers must find outputs by name.
 */
public final class MapModels {
    public static final List<String> LABELS = List.of("defective", "ok");
    public static final String INPUT = "image";
    public static final String MAP = "defect_map";

    private MapModels() {}

    /**
     * Writes a verified package into {@code dir}: input {@code width x height} fitted as {@code fit}, a map grid of
     * {@code width/cell x height/cell}; {@code withMap} false writes the same model with the probabilities only (an
     * old package).
     */
    public static ModelPackage write(Path dir, String id, int width, int height, Preprocessing.Fit fit, int cell,
            boolean withMap) throws Exception {
        return write(dir, id, width, height, fit, cell, withMap, false);
    }

    /**
     * A broken package for robustness tests: its {@code defect_map} output is flattened to {@code [N, h*w]}, which is
     * not the {@code [N,1,h,w]} the contract asks for.
     */
    public static ModelPackage writeWithFlatMap(Path dir, String id) throws Exception {
        return write(dir, id, 64, 48, Preprocessing.Fit.LETTERBOX, 8, true, true);
    }

    private static ModelPackage write(Path dir, String id, int width, int height, Preprocessing.Fit fit, int cell,
            boolean withMap, boolean flatMap) throws Exception {
        if (width % cell != 0 || height % cell != 0) {
            throw new IllegalArgumentException("cell " + cell + " must divide " + width + "x" + height);
        }
        ModelProto opset13 = ModelProto.newBuilder().setIrVersion(7)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(13)).build();
        GraphBuilder g = new GraphBuilder(opset13).name("map-fixture");
        g.input(OnnxGraph.floatValueInfo(INPUT, 0, 3, height, width));
        g.initializer(OnnxTensors.floatTensor("one", new long[0], new float[] {1f}));
        g.initializer(OnnxTensors.floatTensor("gain", new long[0], new float[] {4f}));
        g.node(GraphBuilder.node("ReduceMean", "gray", List.of(INPUT), List.of("gray"),
                GraphBuilder.intsAttr("axes", 1), GraphBuilder.intAttr("keepdims", 1)));
        g.node(GraphBuilder.node("AveragePool", "pool", List.of("gray"), List.of("pooled"),
                GraphBuilder.intsAttr("kernel_shape", cell, cell), GraphBuilder.intsAttr("strides", cell, cell)));
        g.node(GraphBuilder.node("Sub", "centre", List.of("pooled", "one"), List.of("centred")));
        g.node(GraphBuilder.node("Mul", "gain", List.of("centred", "gain"), List.of("z")));
        g.node(GraphBuilder.node("GlobalMaxPool", "max", List.of("z"), List.of("zmax")));
        g.node(GraphBuilder.node("Flatten", "flat", List.of("zmax"), List.of("zflat"),
                GraphBuilder.intAttr("axis", 1)));
        g.node(GraphBuilder.node("Neg", "neg", List.of("zflat"), List.of("zneg")));
        g.node(GraphBuilder.node("Concat", "logits", List.of("zflat", "zneg"), List.of("logits"),
                GraphBuilder.intAttr("axis", 1)));
        g.node(GraphBuilder.node("Softmax", "softmax", List.of("logits"), List.of("probabilities"),
                GraphBuilder.intAttr("axis", 1)));
        if (withMap && flatMap) {
            g.node(GraphBuilder.node("Sigmoid", "map", List.of("z"), List.of("map4d")));
            g.node(GraphBuilder.node("Flatten", "flatmap", List.of("map4d"), List.of(MAP),
                    GraphBuilder.intAttr("axis", 1)));
            g.output(OnnxGraph.floatValueInfo(MAP, 0, (long) (height / cell) * (width / cell)));
        } else if (withMap) {
            g.node(GraphBuilder.node("Sigmoid", "map", List.of("z"), List.of(MAP)));
            g.output(OnnxGraph.floatValueInfo(MAP, 0, 1, height / cell, width / cell));
        }
        g.output(OnnxGraph.floatValueInfo("probabilities", 0, 2));
        byte[] model = g.build().toBytes();

        Files.createDirectories(dir);
        Files.write(dir.resolve(ModelPackage.MODEL), model);
        byte[] report = "{\"schema\":\"vigil.training-report/1\"}".getBytes();
        Files.write(dir.resolve(ModelPackage.REPORT), report);
        String sha = Hashing.sha256(model);
        Map<String, String> files = new LinkedHashMap<>();
        files.put(ModelPackage.MODEL, sha);
        files.put(ModelPackage.REPORT, Hashing.sha256(report));
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("validationAccuracy", 1.0);
        metrics.put("validationImages", 0);
        Manifest m = new Manifest(Manifest.SCHEMA_VERSION, id, "2026-12-01T10:00:00Z", LABELS, "ok",
                new Manifest.Input(INPUT, width, height, "RGB", 1f / 255f, new float[] {0.5f, 0.5f, 0.5f},
                        new float[] {0.25f, 0.25f, 0.25f}, "NCHW", fit.name().toLowerCase(Locale.ROOT), null),
                new Manifest.Output("probabilities", "probabilities", withMap ? MAP : null),
                new Manifest.BackboneRef("map-fixture", "0".repeat(64)), null,
                new Manifest.OperatingPointRef(0.5, 0.99, 1.0, 0.0, null, null), metrics, sha, files);
        Files.write(dir.resolve(ModelPackage.MANIFEST), ModelPackage.json().writeValueAsBytes(m));
        return ModelPackage.open(dir);
    }
}
