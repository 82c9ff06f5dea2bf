package dev.vigil.trainer.combined;

import static dev.vigil.trainer.onnx.GraphBuilder.intAttr;
import static dev.vigil.trainer.onnx.GraphBuilder.node;

import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.core.VigilException;
import dev.vigil.trainer.anomaly.AnomalyExporter;
import dev.vigil.trainer.anomaly.AnomalyGraph;
import dev.vigil.trainer.anomaly.AnomalyModel;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.image.ImageIo;
import dev.vigil.trainer.data.LabelledImage;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.eval.OperatingPoint;
import dev.vigil.trainer.features.FeatureExtractor;
import dev.vigil.core.model.Manifest;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.model.PackageWriter;
import dev.vigil.trainer.onnx.GraphBuilder;
import dev.vigil.trainer.onnx.GraphMerge;
import dev.vigil.trainer.onnx.OnnxGraph;
import dev.vigil.trainer.onnx.OnnxTensors;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a {@link CombinedModel} as one package: the supervised graph and the anomaly graph merged over their shared
 * input ({@link GraphMerge}: the backbone layers both read run once), then the {@link ScoreCombination} as a few
 * element-wise nodes. Outputs: {@code probabilities} over the supervised classes plus
 * {@value Manifest#ANOMALY_LABEL} ({@link CombinedTrainer#classProbabilities}), and {@code defect_map} — the
 * supervised head's map where it has one (it finds labelled defects best), else the anomaly memory's.
 *
 * <p>Checked before anything is written: the supervised graph against the DJL model and the anomaly graph against
 * the Java reference (as their own exporters do), then the merged graph against those two graphs run separately and
 * combined in Java.
 */
public final class CombinedExporter {
    /** Prefix of the anomaly graph's own tensors in the merged graph. */
    public static final String PREFIX = "vigil_anomaly/";
    private static final int VERIFY_IMAGES = 8;

    private final CombinedModel model;
    private final ModelExporter supervised;
    private final AnomalyExporter anomaly;

    public CombinedExporter(CombinedModel model) {
        this.model = model;
        this.supervised = new ModelExporter(model.supervised());
        this.anomaly = new AnomalyExporter(model.anomaly());
    }

    private OnnxGraph anomalyGraph() {
        AnomalyModel a = model.anomaly();
        return AnomalyGraph.model(a.backbone(), a.plan(), a.memory(), a.calibration(), a.labels(), true);
    }

    /** The package's graph (not yet verified). */
    public OnnxGraph graph() {
        return graph(supervised.graph(), anomalyGraph());
    }

    private OnnxGraph graph(OnnxGraph supervisedGraph, OnnxGraph anomalyGraph) {
        String supervisedProbs = "vigil_supervised_probabilities";
        OnnxGraph sup = GraphMerge.rename(supervisedGraph, ModelExporter.OUTPUT, supervisedProbs);
        boolean supervisedMap = GraphMerge.outputs(sup).contains(ModelExporter.DEFECT_MAP);
        GraphMerge.Merged merged = GraphMerge.merge(sup, anomalyGraph, PREFIX);
        GraphBuilder b = merged.builder().name(supervisedGraph.graph().getName() + "+anomaly");
        ScoreCombination c = model.combination();
        int ok = model.supervised().okIndex();
        int classes = model.labels().size() - 1;
        // z: the worst cell's anomaly logit [N,1]
        ModelExporter.reduce(b, "ReduceMax", merged.renamed(AnomalyGraph.LOGIT_MAP), "vigil_combined_z_rows", 3,
                false);
        ModelExporter.reduce(b, "ReduceMax", "vigil_combined_z_rows", "vigil_combined_z", 2, false);
        // l: the supervised defect logit [N,1], probabilities clamped at EPSILON (max(x, e) = relu(x - e) + e)
        b.initializer(OnnxTensors.longTensor("vigil_combined_ok_index", new long[] {1}, new long[] {ok}));
        b.node(node("Gather", "vigil_combined_p_ok", List.of(supervisedProbs, "vigil_combined_ok_index"),
                List.of("vigil_combined_p_ok"), intAttr("axis", 1)));
        b.initializer(scalar("vigil_combined_one", 1f));
        b.initializer(scalar("vigil_combined_eps", ScoreCombination.EPSILON));
        b.node(node("Sub", "vigil_combined_p_defect", List.of("vigil_combined_one", "vigil_combined_p_ok"),
                List.of("vigil_combined_p_defect")));
        String okLog = clampedLog(b, "vigil_combined_p_ok");
        String defectLog = clampedLog(b, "vigil_combined_p_defect");
        b.node(node("Sub", "vigil_combined_l", List.of(defectLog, okLog), List.of("vigil_combined_l")));
        // q = sigmoid(bias + w1 l + w2 z)
        b.initializer(scalar("vigil_combined_w_supervised", (float) c.supervisedWeight()));
        b.initializer(scalar("vigil_combined_w_anomaly", (float) c.anomalyWeight()));
        b.initializer(scalar("vigil_combined_bias", (float) c.bias()));
        b.node(node("Mul", "vigil_combined_wl", List.of("vigil_combined_l", "vigil_combined_w_supervised"),
                List.of("vigil_combined_wl")));
        b.node(node("Mul", "vigil_combined_wz", List.of("vigil_combined_z", "vigil_combined_w_anomaly"),
                List.of("vigil_combined_wz")));
        b.node(node("Add", "vigil_combined_sum", List.of("vigil_combined_wl", "vigil_combined_wz"),
                List.of("vigil_combined_sum")));
        b.node(node("Add", "vigil_combined_s", List.of("vigil_combined_sum", "vigil_combined_bias"),
                List.of("vigil_combined_s")));
        b.node(node("Sigmoid", "vigil_combined_q", List.of("vigil_combined_s"), List.of("vigil_combined_q")));
        // the novelty guard: sigmoid(z + logit(threshold)) >= threshold exactly when z >= 0
        b.initializer(scalar("vigil_combined_guard_shift",
                (float) ScoreCombination.logit(model.operatingPoint().defectThreshold())));
        b.node(node("Add", "vigil_combined_gz", List.of("vigil_combined_z", "vigil_combined_guard_shift"),
                List.of("vigil_combined_gz")));
        b.node(node("Sigmoid", "vigil_combined_g", List.of("vigil_combined_gz"), List.of("vigil_combined_g")));
        b.node(node("Max", "vigil_combined_d", List.of("vigil_combined_q", "vigil_combined_g"),
                List.of("vigil_combined_d")));
        // class probabilities: ok = 1 - D, defect class k = D P_k, anomaly = D P_ok
        b.node(node("Mul", "vigil_combined_e", List.of(supervisedProbs, "vigil_combined_d"),
                List.of("vigil_combined_e")));
        b.node(node("Sub", "vigil_combined_ok", List.of("vigil_combined_one", "vigil_combined_d"),
                List.of("vigil_combined_ok")));
        List<String> parts = new ArrayList<>();
        for (int k = 0; k <= classes; k++) {
            if (k == ok) {
                parts.add("vigil_combined_ok");
                continue;
            }
            int from = k == classes ? ok : k;
            String idx = "vigil_combined_index" + k;
            b.initializer(OnnxTensors.longTensor(idx, new long[] {1}, new long[] {from}));
            b.node(node("Gather", "vigil_combined_class" + k, List.of("vigil_combined_e", idx),
                    List.of("vigil_combined_class" + k), intAttr("axis", 1)));
            parts.add("vigil_combined_class" + k);
        }
        b.node(node("Concat", ModelExporter.OUTPUT, parts, List.of(ModelExporter.OUTPUT), intAttr("axis", 1)));
        b.output(OnnxGraph.floatValueInfo(ModelExporter.OUTPUT, 0, classes + 1));
        ValueInfoProto map;
        if (supervisedMap) {
            map = output(sup, ModelExporter.DEFECT_MAP);
        } else {
            b.node(node("Identity", "vigil_combined_map", List.of(merged.renamed(ModelExporter.DEFECT_MAP)),
                    List.of(ModelExporter.DEFECT_MAP)));
            map = output(anomalyGraph, ModelExporter.DEFECT_MAP);
        }
        b.output(map);
        if (GraphMerge.outputs(sup).contains(ModelExporter.DRIFT_FEATURES)) {
            b.output(output(sup, ModelExporter.DRIFT_FEATURES)); // the supervised graph's, unrenamed
        }
        return GraphMerge.prune(b.build());
    }

    private static ValueInfoProto output(OnnxGraph g, String name) {
        return g.graph().getOutputList().stream().filter(v -> v.getName().equals(name)).findFirst().orElseThrow();
    }

    /** {@code log(max(x, EPSILON))} as {@code log(relu(x - e) + e)}: opset-7 operators with broadcasting. */
    private static String clampedLog(GraphBuilder b, String x) {
        b.node(node("Sub", x + "_less_eps", List.of(x, "vigil_combined_eps"), List.of(x + "_less_eps")));
        b.node(node("Relu", x + "_relu", List.of(x + "_less_eps"), List.of(x + "_relu")));
        b.node(node("Add", x + "_clamped", List.of(x + "_relu", "vigil_combined_eps"), List.of(x + "_clamped")));
        b.node(node("Log", x + "_log", List.of(x + "_clamped"), List.of(x + "_log")));
        return x + "_log";
    }

    private static ai.onnx.proto.OnnxMl.TensorProto scalar(String name, float v) {
        return OnnxTensors.floatTensor(name, new long[0], new float[] {v});
    }

    /**
     * Every check: the supervised graph against DJL, the anomaly graph against the Java reference, the merged graph
     * against the two run separately (largest differences of probabilities and maps).
     */
    public record Verification(ModelExporter.Verification supervised, AnomalyExporter.Verification anomaly,
            int images, double maxAbsDiff, double maxMapDiff) {
        boolean passed() {
            double limit = ModelExporter.MAX_ABS_DIFF;
            return supervised.maxAbsDiff() <= limit && !(supervised.maxMapDiff() > limit)
                    && !(supervised.maxDriftDiff() > ModelExporter.MAX_DRIFT_DIFF)
                    && anomaly.maxAbsDiff() <= limit && anomaly.maxMapDiff() <= limit && maxAbsDiff <= limit
                    && maxMapDiff <= limit;
        }
    }

    public Verification verify(OnnxGraph supervisedGraph, OnnxGraph anomalyGraph, OnnxGraph combined) {
        ModelExporter.Verification vs = supervised.verify(supervisedGraph);
        AnomalyExporter.Verification va = anomaly.verify(anomaly.graph());
        List<LabelledImage> images = verificationImages();
        Preprocessing pre = model.supervised().plan().preprocessing();
        int per = pre.valuesPerImage();
        int n = images.size();
        float[] batch = new float[n * per];
        for (int i = 0; i < n; i++) {
            Path p = images.get(i).path();
            System.arraycopy(ImageIo.preprocess(ImageIo.read(p), pre, Variant.ORIGINAL, p.toString()), 0, batch,
                    i * per, per);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        String input = combined.inputName();
        int ok = model.supervised().okIndex();
        boolean supervisedMap = GraphMerge.outputs(supervisedGraph).contains(ModelExporter.DEFECT_MAP);
        double max = 0;
        double mapMax = 0;
        try (OrtSession ss = env.createSession(supervisedGraph.toBytes(), FeatureExtractor.sessionOptions());
                OrtSession as = env.createSession(anomalyGraph.toBytes(), FeatureExtractor.sessionOptions());
                OrtSession cs = env.createSession(combined.toBytes(), FeatureExtractor.sessionOptions())) {
            for (int i = 0; i < n; i++) {
                try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch, i * per, per),
                        new long[] {1, 3, pre.height(), pre.width()});
                        OrtSession.Result s = ss.run(Map.of(input, in));
                        OrtSession.Result a = as.run(Map.of(input, in));
                        OrtSession.Result c = cs.run(Map.of(input, in))) {
                    float[] ps = OnnxTensors.floats(s.get(ModelExporter.OUTPUT).orElseThrow());
                    float[] logits = OnnxTensors.floats(a.get(AnomalyGraph.LOGIT_MAP).orElseThrow());
                    float z = Float.NEGATIVE_INFINITY;
                    for (float v : logits) {
                        z = Math.max(z, v);
                    }
                    double d = model.combination().probability(ScoreCombination.supervisedLogit(ps[ok]), z,
                            model.operatingPoint().defectThreshold());
                    float[] expected = CombinedTrainer.classProbabilities(ps, ok, (float) d);
                    float[] got = OnnxTensors.floats(c.get(ModelExporter.OUTPUT).orElseThrow());
                    for (int k = 0; k < expected.length; k++) {
                        max = Math.max(max, Math.abs(expected[k] - got[k]));
                    }
                    float[] mapExpected = OnnxTensors.floats((supervisedMap ? s : a).get(ModelExporter.DEFECT_MAP).orElseThrow());
                    float[] mapGot = OnnxTensors.floats(c.get(ModelExporter.DEFECT_MAP).orElseThrow());
                    for (int k = 0; k < mapGot.length; k++) {
                        mapMax = Math.max(mapMax, Math.abs(mapExpected[k] - mapGot[k]));
                    }
                }
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime cannot run the combined model: " + e.getMessage(), e);
        }
        return new Verification(vs, va, n, max, mapMax);
    }

    /** Labelled defects and good images, interleaved: the anomaly memory's verification images, then held-out ones. */
    private List<LabelledImage> verificationImages() {
        List<LabelledImage> out = new ArrayList<>(model.anomaly().verificationImages());
        for (LabelledImage img : model.supervised().validationFeatures().kept()) {
            if (out.size() >= VERIFY_IMAGES) {
                break;
            }
            if (!out.contains(img)) {
                out.add(img);
            }
        }
        return out.subList(0, Math.min(VERIFY_IMAGES, out.size()));
    }


    /** Verifies and writes the package to {@code out} (which must not exist or be empty). */
    public ModelPackage write(Path out) throws IOException {
        PackageWriter.requireEmpty(out);
        OnnxGraph supervisedGraph = supervised.graph();
        OnnxGraph anomalyGraph = anomalyGraph();
        OnnxGraph combined = graph(supervisedGraph, anomalyGraph);
        Verification v = verify(supervisedGraph, anomalyGraph, combined);
        if (!v.passed()) {
            throw new VigilException(String.format(Locale.ROOT, "the combined model failed its checks (supervised"
                    + " graph vs DJL %.3g, anomaly graph vs Java %.3g, combined vs its parts %.3g and maps %.3g; the"
                    + " limit is %.0g); nothing was written. Please report this with the backbone name",
                    v.supervised().maxAbsDiff(), v.anomaly().maxAbsDiff(), v.maxAbsDiff(), v.maxMapDiff(),
                    ModelExporter.MAX_ABS_DIFF));
        }
        boolean supervisedMap = GraphMerge.outputs(supervisedGraph).contains(ModelExporter.DEFECT_MAP);
        return PackageWriter.write(out, combined.toBytes(), report(v, supervisedMap),
                (modelSha, reportSha) -> manifest(modelSha, reportSha));
    }

    /** {@code pooled+anomaly} or {@code patch+anomaly}. */
    public String head() {
        return (model.supervised().plan().patches() ? "patch" : "pooled") + "+anomaly";
    }

    private Manifest manifest(String modelSha, String reportSha) {
        Manifest s = supervised.manifest(modelSha, reportSha, true);
        OperatingPoint op = model.operatingPoint();
        var bound = model.calibration().recall();
        Manifest.OperatingPointRef ref = new Manifest.OperatingPointRef(op.defectThreshold(), op.targetRecall(),
                Double.isNaN(op.validationRecall()) ? null : op.validationRecall(), op.validationFalseRejectRate(),
                bound == null || Double.isNaN(bound.lower95()) ? null : bound.lower95(),
                bound == null ? null : bound.total());
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("validationAccuracy", model.validation().accuracy());
        metrics.put("validationBalancedAccuracy", model.validation().balancedAccuracy());
        metrics.put("validationImages", model.validation().count());
        metrics.put("combinedAuroc", model.figures().combinedAuroc());
        metrics.put("supervisedAuroc", model.figures().supervisedAuroc());
        metrics.put("anomalyAuroc", model.figures().anomalyAuroc());
        metrics.put("memoryRows", model.anomaly().memory().size());
        return new Manifest(s.schemaVersion(), s.id(), s.createdAt(), model.labels(), s.okLabel(), s.input(),
                s.output(), s.backbone(), s.training().withHead(head()), ref, metrics, s.modelSha256(), s.files());
    }

    private Map<String, Object> report(Verification v, boolean supervisedMap) {
        Map<String, Object> rep = supervised.report(v.supervised());
        Map<String, Object> anomalyReport = anomaly.report(v.anomaly());
        rep.put("head", head());
        rep.put("validation", model.validation());
        rep.put("operatingPoint", model.operatingPoint());
        rep.put("calibration", ModelExporter.calibrationJson(model.calibration()));
        rep.put("thresholdCurve", model.thresholdCurve());
        Map<String, Object> c = new LinkedHashMap<>();
        ScoreCombination sc = model.combination();
        c.put("method", sc.method());
        c.put("bias", sc.bias());
        c.put("supervisedWeight", sc.supervisedWeight());
        c.put("anomalyWeight", sc.anomalyWeight());
        c.put("guard", "anomaly logit >= 0 (the memory's own threshold) rejects");
        c.put("figures", model.figures());
        c.put("defectMap", supervisedMap ? "supervised" : "anomaly");
        rep.put("combination", c);
        rep.put("anomaly", anomalyReport.get("anomaly"));
        rep.put("anomalyCalibration", anomalyReport.get("calibration"));
        rep.put("anomalyTiming", anomalyReport.get("timing"));
        Map<String, Object> ver = new LinkedHashMap<>();
        ver.put("supervised", supervisedVerification(v.supervised()));
        ver.put("anomaly", Map.of("images", v.anomaly().images(), "maxAbsDiff", v.anomaly().maxAbsDiff(),
                "maxDefectMapDiff", v.anomaly().maxMapDiff()));
        ver.put("images", v.images());
        ver.put("maxAbsDiff", v.maxAbsDiff());
        ver.put("maxDefectMapDiff", v.maxMapDiff());
        ver.put("limit", ModelExporter.MAX_ABS_DIFF);
        rep.put("verification", ver);
        return rep;
    }

    private static Map<String, Object> supervisedVerification(ModelExporter.Verification v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("images", v.images());
        m.put("maxAbsDiff", v.maxAbsDiff());
        m.put("maxDefectMapDiff", Double.isNaN(v.maxMapDiff()) ? null : v.maxMapDiff());
        m.put("maxDriftFeatureDiff", Double.isNaN(v.maxDriftDiff()) ? null : v.maxDriftDiff());
        return m;
    }
}
