package dev.vigil.trainer.anomaly;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.core.VigilException;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.image.ImageIo;
import dev.vigil.trainer.data.LabelledImage;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.features.FeatureExtractor;
import dev.vigil.core.model.Manifest;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.model.PackageWriter;
import dev.vigil.trainer.onnx.OnnxGraph;
import dev.vigil.trainer.onnx.OnnxTensors;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes an {@link AnomalyModel} as a model package: one ONNX graph ({@link AnomalyGraph#model}) that runs on ONNX
 * Runtime like any other package, checked before anything is written against the reference computation in Java
 * ({@link PatchMemory#nearest} and {@link Calibration#probability} on the same patch features) on good images and,
 * when there were any, labelled defects: more than {@link ModelExporter#MAX_ABS_DIFF} apart and nothing is written.
 */
public final class AnomalyExporter {
    /** Multiply-adds the Java reference may spend (a few seconds); at least {@link #MIN_VERIFY} images are checked. */
    private static final double VERIFY_BUDGET = 1e10;
    private static final int MIN_VERIFY = 2;

    private final AnomalyModel model;

    public AnomalyExporter(AnomalyModel model) {
        this.model = model;
    }

    public OnnxGraph graph() {
        return AnomalyGraph.model(model.backbone(), model.plan(), model.memory(), model.calibration(), model.labels());
    }

    /** ONNX Runtime against the Java reference: largest differences of the probabilities and the defect maps. */
    public record Verification(int images, double maxAbsDiff, double maxMapDiff) {}

    public Verification verify(OnnxGraph graph) {
        AnomalyPlan plan = model.plan();
        Preprocessing pre = plan.preprocessing();
        int cells = plan.cells();
        double perImage = (double) cells * model.memory().size() * plan.channels();
        List<LabelledImage> all = model.verificationImages();
        int n = (int) Math.min(all.size(), Math.max(MIN_VERIFY, Math.floor(VERIFY_BUDGET / perImage)));
        List<LabelledImage> images = all.subList(0, n);
        float[] batch = new float[n * pre.valuesPerImage()];
        for (int i = 0; i < n; i++) {
            Path p = images.get(i).path();
            float[] x = ImageIo.preprocess(ImageIo.read(p), pre, Variant.ORIGINAL, p.toString());
            System.arraycopy(x, 0, batch, i * x.length, x.length);
        }
        Backbone bb = model.backbone();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OnnxGraph features = AnomalyGraph.features(bb, plan, null, 0);
        float threshold = (float) model.calibration().threshold();
        float inverseScale = (float) (1 / model.calibration().scale());
        int ok = model.okIndex();
        double max = 0;
        double mapMax = 0;
        try (OrtSession fs = env.createSession(features.toBytes(), FeatureExtractor.sessionOptions());
                OrtSession ms = env.createSession(graph.toBytes(), FeatureExtractor.sessionOptions())) {
            for (int i = 0; i < n; i++) {
                float[] local;
                float[] probabilities;
                float[] map;
                try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch, i * pre.valuesPerImage(),
                        pre.valuesPerImage()), new long[] {1, 3, pre.height(), pre.width()});
                        OrtSession.Result f = fs.run(Map.of(bb.graph().inputName(), in));
                        OrtSession.Result r = ms.run(Map.of(bb.graph().inputName(), in))) {
                    local = OnnxTensors.floats(f.get(AnomalyGraph.LOCAL).orElseThrow());
                    probabilities = OnnxTensors.floats(r.get(ModelExporter.OUTPUT).orElseThrow());
                    map = OnnxTensors.floats(r.get(ModelExporter.DEFECT_MAP).orElseThrow());
                }
                double[] d = model.memory().nearest(local, cells);
                double worst = 0;
                for (int j = 0; j < cells; j++) {
                    double p = 1 / (1 + Math.exp(-(d[j] - threshold) * inverseScale));
                    worst = Math.max(worst, p);
                    mapMax = Math.max(mapMax, Math.abs(p - map[j]));
                }
                for (int k = 0; k < probabilities.length; k++) {
                    double expected = k == ok ? 1 - worst : worst;
                    max = Math.max(max, Math.abs(expected - probabilities[k]));
                }
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime cannot run the exported anomaly model: " + e.getMessage(), e);
        }
        return new Verification(n, max, mapMax);
    }


    /** Verifies and writes the package to {@code out} (which must not exist or be empty). */
    public ModelPackage write(Path out) throws IOException {
        PackageWriter.requireEmpty(out);
        OnnxGraph graph = graph();
        Verification v = verify(graph);
        if (!(v.maxAbsDiff() <= ModelExporter.MAX_ABS_DIFF) || !(v.maxMapDiff() <= ModelExporter.MAX_ABS_DIFF)) {
            throw new VigilException(String.format(Locale.ROOT, "the exported anomaly model disagrees with the Java"
                    + " reference by %.3g (defect maps by %.3g; the limit is %.0g) on %d images; nothing was"
                    + " written. Please report this with the backbone name", v.maxAbsDiff(), v.maxMapDiff(),
                    ModelExporter.MAX_ABS_DIFF, v.images()));
        }
        return PackageWriter.write(out, graph.toBytes(), report(v), this::manifest);
    }

    private Manifest manifest(String modelSha, String reportSha) {
        AnomalyModel m = model;
        AnomalyPlan plan = m.plan();
        Preprocessing pre = plan.preprocessing();
        Backbone bb = m.backbone();
        AnomalyModel.Summary s = m.summary();
        Instant now = Instant.now();
        Map<String, Integer> counts = new LinkedHashMap<>();
        counts.put(m.okLabel(), s.goodImages());
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("outOfFoldFalseRejectRate", m.calibration().outOfFoldFalseRejectRate());
        metrics.put("outOfFoldImages", m.calibration().images());
        metrics.put("memoryRows", m.memory().size());
        if (s.labelledDefects() != null) {
            metrics.put("labelledDefectAuroc", s.labelledDefects().auroc());
        }
        Map<String, String> files = new LinkedHashMap<>();
        files.put(ModelPackage.MODEL, modelSha);
        files.put(ModelPackage.REPORT, reportSha);
        return new Manifest(Manifest.SCHEMA_VERSION, PackageWriter.id(now, modelSha), now.toString(), m.labels(),
                m.okLabel(),
                new Manifest.Input(bb.graph().inputName(), pre.width(), pre.height(), pre.colorOrder().name(),
                        pre.scale(), pre.mean(), pre.std(), "NCHW", pre.fit().name().toLowerCase(Locale.ROOT),
                        dev.vigil.trainer.backbone.Tiling.manifest(m.options().geometry().tiles(), pre.width(), pre.height())),
                new Manifest.Output(ModelExporter.OUTPUT, "probabilities", ModelExporter.DEFECT_MAP),
                new Manifest.BackboneRef(bb.name(), bb.sha256(),
                        bb.file() == null ? null : bb.file().toAbsolutePath().toString()),
                new Manifest.Training(0, AnomalyGraph.LOCAL, plan.taps(), "local" + plan.neighbourhood() + "x"
                        + plan.neighbourhood(), false, 0, 0, 0, 0f, 0f, 0, m.options().seed(), List.of(),
                        List.of(Variant.ORIGINAL.id()), s.datasetSha256(), counts, counts, s.skippedImages(),
                        "anomaly", null),
                new Manifest.OperatingPointRef(0.5, null, null, m.calibration().outOfFoldFalseRejectRate(), null,
                        null),
                metrics, modelSha, files);
    }

    /** The report of the memory alone (a combined package embeds its {@code anomaly} and {@code calibration}). */
    public Map<String, Object> report(Verification v) {
        AnomalyModel m = model;
        AnomalyPlan plan = m.plan();
        AnomalyModel.Summary s = m.summary();
        Map<String, Object> rep = new LinkedHashMap<>();
        rep.put("schema", "vigil.training-report/1");
        rep.put("head", "anomaly");
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("backbone", m.backbone().name());
        a.put("taps", plan.tapBlocks());
        a.put("tapTensors", plan.taps());
        a.put("input", List.of(plan.preprocessing().width(), plan.preprocessing().height()));
        a.put("grid", List.of(plan.layout().gridWidth(), plan.layout().gridHeight()));
        a.put("channels", plan.channels());
        a.put("neighbourhood", plan.neighbourhood());
        a.put("goodImages", s.goodImages());
        a.put("patchesPerImage", s.patchesPerImage());
        a.put("patches", (long) s.goodImages() * s.patchesPerImage());
        a.put("candidatesPerImage", s.candidatesPerImage());
        a.put("candidates", s.candidates());
        a.put("memoryRows", m.memory().size());
        a.put("memorySizeLimit", m.options().memorySize());
        a.put("coresetFraction", m.options().coresetFraction());
        a.put("projectionDims", Math.min(KCenterCoreset.PROJECTION_DIMS, plan.channels()));
        a.put("folds", s.folds());
        a.put("parts", s.groups());
        a.put("grouping", s.grouping());
        a.put("otherClasses", s.otherClasses());
        rep.put("anomaly", a);
        rep.put("calibration", m.calibration());
        Map<String, Object> op = new LinkedHashMap<>();
        op.put("defectThreshold", 0.5);
        op.put("distanceThreshold", m.calibration().threshold());
        op.put("distanceScale", m.calibration().scale());
        op.put("targetFalseRejectRate", m.calibration().targetFalseRejectRate());
        op.put("outOfFoldFalseRejectRate", m.calibration().outOfFoldFalseRejectRate());
        op.put("falseRejectRateUpper95", m.calibration().falseRejectRateUpper95());
        rep.put("operatingPoint", op);
        rep.put("thresholdCurve", null);
        rep.put("labelledDefects", s.labelledDefects());
        Map<String, Object> timing = new LinkedHashMap<>(s.timing());
        timing.put("peakHeapBytes", s.peakHeapBytes());
        rep.put("timing", timing);
        Map<String, Object> ver = new LinkedHashMap<>();
        ver.put("images", v.images());
        ver.put("maxAbsDiff", v.maxAbsDiff());
        ver.put("maxDefectMapDiff", v.maxMapDiff());
        ver.put("limit", ModelExporter.MAX_ABS_DIFF);
        rep.put("verification", ver);
        return rep;
    }
}
