package dev.vigil.trainer.model;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.trainer.VigilException;
import dev.vigil.trainer.backbone.Preprocessing;
import dev.vigil.trainer.data.ImageIo;
import dev.vigil.trainer.data.Variant;
import dev.vigil.trainer.features.FeatureExtractor;
import java.nio.FloatBuffer;
import java.util.Map;

/** Runs a model package's {@code model.onnx} with ONNX Runtime on CPU: images in, class probabilities out. */
public final class OrtClassifier implements AutoCloseable {
    private final ModelPackage pkg;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final Preprocessing pre;

    public OrtClassifier(ModelPackage pkg) {
        this.pkg = pkg;
        this.pre = pkg.preprocessing();
        try {
            this.session = env.createSession(pkg.modelFile().toString(), FeatureExtractor.sessionOptions());
        } catch (OrtException e) {
            throw new VigilException("ONNX Runtime cannot load " + pkg.modelFile() + ": " + e.getMessage());
        }
    }

    public ModelPackage modelPackage() {
        return pkg;
    }

    /** Probabilities for a batch of preprocessed images laid out back to back. */
    public float[][] run(float[] batch, int count) {
        long[] shape = {count, 3, pre.height(), pre.width()};
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch, 0, count * pre.valuesPerImage()),
                shape); OrtSession.Result r = session.run(Map.of(pkg.manifest().input().tensor(), in))) {
            return (float[][]) r.get(0).getValue();
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on " + pkg.modelFile() + ": " + e.getMessage(), e);
        }
    }

    /** Probabilities for one encoded image (JPEG, PNG...). */
    public float[] classify(byte[] encoded, String what) {
        return run(ImageIo.preprocess(encoded, pre, Variant.ORIGINAL, what), 1)[0];
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
