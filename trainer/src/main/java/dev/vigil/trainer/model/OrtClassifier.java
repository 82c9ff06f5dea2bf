package dev.vigil.trainer.model;

import dev.vigil.core.model.DefectMap;
import dev.vigil.core.model.ModelPackage;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.core.VigilException;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.image.ImageIo;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.features.FeatureExtractor;
import java.nio.FloatBuffer;
import java.util.Map;
import org.opencv.core.Mat;

/**
 * Runs a model package's {@code model.onnx} with ONNX Runtime on CPU: images in, class probabilities out, and the
 * {@link DefectMap} too when the package has one ({@link #classify(Mat)}). Outputs are read by the names the manifest
 * gives, never by position.
 */
public final class OrtClassifier implements AutoCloseable {
    private final ModelPackage pkg;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final Preprocessing pre;

    /**
     * One image's result.
     *
     * @param probabilities class probabilities in the order of the manifest's labels
     * @param defectMap where the model sees the defect; null when the package has no map
     */
    public record Classification(float[] probabilities, DefectMap defectMap, Map<String, float[]> heads) {
        public Classification(float[] probabilities, DefectMap defectMap) {
            this(probabilities, defectMap, Map.of());
        }
    }

    /**
     * A batch's results: probabilities per image, the raw maps (null without a map) and the standardised drift
     * features (null without them).
     */
    public record Outputs(float[][] probabilities, DefectMap.Batch maps, float[][] drift,
            Map<String, float[][]> heads) {
        public Outputs(float[][] probabilities, DefectMap.Batch maps, float[][] drift) {
            this(probabilities, maps, drift, Map.of());
        }
    }

    public OrtClassifier(ModelPackage pkg) {
        this(pkg, null);
    }

    /** The package's manifest with {@code model} (an ONNX graph of the same outputs) in place of its file; null = the file. */
    public OrtClassifier(ModelPackage pkg, byte[] model) {
        this.pkg = pkg;
        this.pre = pkg.preprocessing();
        try {
            this.session = model != null ? env.createSession(model, FeatureExtractor.sessionOptions())
                    : env.createSession(pkg.modelFile().toString(), FeatureExtractor.sessionOptions());
        } catch (OrtException e) {
            throw new VigilException("ONNX Runtime cannot load " + pkg.modelFile() + ": " + e.getMessage());
        }
        try {
            pkg.requireOutputs(session.getOutputNames());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    public ModelPackage modelPackage() {
        return pkg;
    }

    /** Whether the package's model gives a defect map beside the probabilities. */
    public boolean hasDefectMap() {
        return pkg.defectMapTensor() != null;
    }

    /** Probabilities for a batch of preprocessed images laid out back to back. */
    public float[][] run(float[] batch, int count) {
        return runAll(batch, count).probabilities();
    }

    /** Probabilities and, when the package has one, the defect maps of a batch of preprocessed images. */
    public Outputs runAll(float[] batch, int count) {
        long[] shape = {count, 3, pre.height(), pre.width()};
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch, 0, count * pre.valuesPerImage()),
                shape); OrtSession.Result r = session.run(Map.of(pkg.manifest().input().tensor(), in))) {
            String mapName = pkg.defectMapTensor();
            String driftName = pkg.driftTensor();
            OnnxValue probs = mapName == null && driftName == null ? r.get(0)
                    : r.get(pkg.manifest().output().tensor()).orElseThrow();
            float[][] drift = driftName == null ? null : (float[][]) r.get(driftName).orElseThrow().getValue();
            DefectMap.Batch maps = null;
            if (mapName != null) {
                OnnxTensor t = (OnnxTensor) r.get(mapName).orElseThrow();
                FloatBuffer fb = t.getFloatBuffer();
                float[] flat = new float[fb.remaining()];
                fb.get(flat);
                maps = DefectMap.Batch.of(flat, t.getInfo().getShape(), count, pkg.modelFile() + " output '" + mapName
                        + "'");
            }
            // a multi-task model's other heads, by name (docs/multitask.md)
            Map<String, float[][]> heads = new java.util.LinkedHashMap<>();
            for (var h : pkg.manifest().output() == null ? java.util.List.<dev.vigil.core.model.Manifest.Head>of()
                    : pkg.manifest().output().otherHeads()) {
                heads.put(h.name(), (float[][]) r.get(h.tensor()).orElseThrow().getValue());
            }
            return new Outputs((float[][]) probs.getValue(), maps, drift, heads);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on " + pkg.modelFile() + ": " + e.getMessage(), e);
        }
    }

    /** Probabilities for one encoded image (JPEG, PNG...). */
    public float[] classify(byte[] encoded, String what) {
        return run(ImageIo.preprocess(encoded, pre, Variant.ORIGINAL, what), 1)[0];
    }

    /** Probabilities and the defect map (null without one) for one decoded BGR image; the image is not released. */
    public Classification classify(Mat bgr) {
        float[] input = new float[pre.valuesPerImage()];
        ImageIo.tensor(bgr, pre, input, 0);
        Outputs out = runAll(input, 1);
        DefectMap map = out.maps() == null ? null
                : out.maps().map(0, DefectMap.Geometry.of(pre, bgr.cols(), bgr.rows()));
        Map<String, float[]> heads = new java.util.LinkedHashMap<>();
        out.heads().forEach((name, p) -> heads.put(name, p[0]));
        return new Classification(out.probabilities()[0], map, heads);
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            // released anyway
        }
    }
}
