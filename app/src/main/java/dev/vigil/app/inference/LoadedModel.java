package dev.vigil.app.inference;

import ai.djl.Device;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.NoopTranslator;
import ai.djl.translate.TranslateException;
import dev.vigil.core.VigilException;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.model.DefectMap;
import dev.vigil.core.model.ModelPackage;
import java.util.List;

/**
 * A verified model package loaded on DJL's ONNX Runtime engine, ready to classify preprocessed batches. Opening
 * verifies the package's hashes ({@link ModelPackage#open}); a package that fails is refused with the reason.
 * Thread-safe for one caller at a time (the inference worker); close it when it is swapped out.
 */
public final class LoadedModel implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(LoadedModel.class.getName());
    private final ModelPackage pkg;
    private final ZooModel<NDList, NDList> model;
    private final Predictor<NDList, NDList> predictor;
    private final String device;
    /** Why this model's defect map is unusable (read once, then ignored); null while it is fine. */
    private volatile String mapProblem;

    /** A multi-task model's heads other than the verdict head, read once (empty for a single classifier). */
    private final List<dev.vigil.core.model.Manifest.Head> otherHeads;

    /**
     * The drift reference of the graph, read from model.onnx once at load, to recover an image's pooled features from
     * the drift output for its embedding ({@link Inference#embedding}); null when the model has no drift features or
     * they cannot be read.
     */
    private final DriftReference driftReference;

    /** The graph initializers of the drift reference (the trainer's {@code ModelExporter.DRIFT_MEAN/SCALE}). */
    static final String DRIFT_MEAN = "vigil_drift_mean";
    static final String DRIFT_SCALE = "vigil_drift_scale";

    private LoadedModel(ModelPackage pkg, ZooModel<NDList, NDList> model, String device) {
        this.pkg = pkg;
        this.driftReference = pkg.driftTensor() == null ? null : DriftReference.of(pkg);
        this.otherHeads = pkg.manifest().output() == null ? List.of() : pkg.manifest().output().otherHeads();
        this.model = model;
        this.predictor = model.newPredictor();
        this.device = device;
    }

    /**
     * Starts DJL's ONNX Runtime engine. Call it before anything else in the process touches ONNX Runtime: the engine
     * creates the process-wide environment with its own thread pools and fails if one already exists.
     */
    public static void initEngine() {
        // serving needs only ONNX Runtime: without this DJL would load PyTorch (libtorch, ~150 MiB) beside it as a
        // "hybrid" engine for NDArray operations the service never uses; training runs in a process of its own
        System.setProperty("ai.djl.onnx.disable_alternative", "true");
        ai.djl.engine.Engine.getEngine("OnnxRuntime");
    }

    /**
     * Opens and verifies the package at {@code dir} on {@code device} ({@code cpu}, {@code cuda}, {@code tensorrt} or
     * {@code auto}: the GPU when ONNX Runtime's GPU libraries load, otherwise the CPU with a log line).
     */
    public static LoadedModel open(java.nio.file.Path dir, String device) {
        ModelPackage pkg = ModelPackage.open(dir);
        if (pkg.okIndex() < 0 && pkg.manifest().okLabel() != null) {
            throw new VigilException("model package " + dir + ": okLabel '" + pkg.manifest().okLabel()
                    + "' is not one of its labels " + pkg.manifest().labels());
        }
        if (pkg.defectMapTensor() != null || pkg.driftTensor() != null) {
            // DJL does not describe an ONNX model's outputs; the file does (its weights are skipped, not loaded)
            pkg.requireOutputs(dev.vigil.core.model.OnnxOutputs.names(pkg.modelFile()));
        }
        if (!device.equals("cpu")) {
            try {
                return new LoadedModel(pkg, load(pkg, device), device);
            } catch (RuntimeException | ai.djl.ModelException | java.io.IOException e) {
                if (!device.equals("auto")) {
                    throw new VigilException("model.device " + device + ": ONNX Runtime could not run " + dir
                            + " there (" + e.getMessage() + "); install ONNX Runtime's GPU build or use cpu/auto");
                }
                LOG.log(System.Logger.Level.INFO, "model.device auto: no usable GPU ({0}); running on the CPU",
                        e.getMessage());
            }
        }
        try {
            return new LoadedModel(pkg, load(pkg, "cpu"), "cpu");
        } catch (ai.djl.ModelException | java.io.IOException e) {
            throw new VigilException("model package " + dir + ": ONNX Runtime cannot load model.onnx ("
                    + e.getMessage() + "); retrain or restore the package");
        }
    }

    /**
     * The graph's drift reference ({@code vigil_drift_mean}, {@code vigil_drift_scale}, {@code [K][D]} each) and their
     * means over the classes ({@code centre}, {@code spread}), which place an embedding.
     */
    public record DriftReference(float[][] mean, float[][] scale, float[] centre, float[] spread, int okIndex) {
        /** The package's reference; null (with a log line) when model.onnx has none readable. */
        static DriftReference of(ModelPackage pkg) {
            try {
                var t = dev.vigil.core.model.OnnxOutputs.floatInitializers(pkg.modelFile(),
                        java.util.Set.of(DRIFT_MEAN, DRIFT_SCALE));
                var mean = t.get(DRIFT_MEAN);
                var scale = t.get(DRIFT_SCALE);
                if (mean == null || scale == null || mean.dims().length != 2
                        || !java.util.Arrays.equals(mean.dims(), scale.dims())
                        || mean.values().length != mean.dims()[0] * mean.dims()[1]) {
                    throw new VigilException("model.onnx has no readable " + DRIFT_MEAN + "/" + DRIFT_SCALE
                            + " [K,D]");
                }
                int k = (int) mean.dims()[0];
                int d = (int) mean.dims()[1];
                float[][] m = new float[k][];
                float[][] sc = new float[k][];
                float[] centre = new float[d];
                float[] spread = new float[d];
                for (int c = 0; c < k; c++) {
                    m[c] = java.util.Arrays.copyOfRange(mean.values(), c * d, (c + 1) * d);
                    sc[c] = java.util.Arrays.copyOfRange(scale.values(), c * d, (c + 1) * d);
                    for (int j = 0; j < d; j++) {
                        centre[j] += m[c][j] / k;
                        spread[j] += sc[c][j] / k;
                    }
                }
                return new DriftReference(m, sc, centre, spread, pkg.okIndex());
            } catch (VigilException e) {
                LOG.log(System.Logger.Level.WARNING, "model " + pkg.manifest().id() + ": " + e.getMessage()
                        + "; its samples are stored without embeddings (no similar examples for them)");
                return null;
            }
        }

        /**
         * An image's embedding for finding similar samples: its pooled features standardised about the centre of the
         * classes ({@code e = (f - mean_k mean[k]) * mean_k scale[k]}, with {@code f = z / scale[c] + mean[c]} the
         * raw features recovered from the drift output {@code z}, {@code c} the class the graph standardised by: the
         * supervised head's prediction) and L2-normalised, so that a dot product is the cosine similarity. Centred
         * rather than raw: pooled ReLU features are all positive, so raw cosines of any two parts crowd near 1 (0.97
         * for a defect and an ok part on casting) and the class that tells them apart is a small part of the angle;
         * about the centre, a part points towards its class. Null when it cannot be recovered.
         */
        float[] embed(float[] probabilities, float[] z) {
            int c = headClass(probabilities, mean.length, okIndex);
            if (c < 0 || z.length != centre.length) {
                return null;
            }
            float[] e = new float[z.length];
            double norm = 0;
            for (int j = 0; j < z.length; j++) {
                float s = scale[c][j];
                float f = (s == 0 ? 0 : z[j] / s) + mean[c][j];
                e[j] = (f - centre[j]) * spread[j];
                norm += (double) e[j] * e[j];
            }
            if (!(norm > 0) || Double.isInfinite(norm)) {
                return null;
            }
            float inv = (float) (1 / Math.sqrt(norm));
            for (int j = 0; j < e.length; j++) {
                e[j] *= inv;
            }
            return e;
        }
    }

    /**
     * The class the graph's drift output was standardised by, from the served probabilities: their argmax over the
     * head's {@code k} classes; a combined package adds an {@code anomaly} column after them, whose value stands in
     * the ok class's place (as the trainer's {@code Adaptation.headClass}). -1 when the row is shorter than {@code k}.
     */
    static int headClass(float[] probabilities, int k, int ok) {
        if (probabilities.length < k) {
            return -1;
        }
        float[] head = java.util.Arrays.copyOf(probabilities, k);
        if (probabilities.length > k && ok >= 0 && ok < k) {
            head[ok] = probabilities[k];
        }
        int best = 0;
        for (int j = 1; j < k; j++) {
            if (head[j] > head[best]) {
                best = j;
            }
        }
        return best;
    }

    private static ZooModel<NDList, NDList> load(ModelPackage pkg, String device)
            throws ai.djl.ModelException, java.io.IOException {
        Criteria.Builder<NDList, NDList> c = Criteria.builder().setTypes(NDList.class, NDList.class)
                .optModelPath(pkg.modelFile()).optEngine("OnnxRuntime").optTranslator(new NoopTranslator());
        switch (device) {
            case "cpu" -> c.optDevice(Device.cpu());
            case "cuda", "auto" -> {
                if (ai.djl.util.cuda.CudaUtils.getGpuCount() == 0) {
                    throw new IllegalStateException("no CUDA GPU found");
                }
                c.optDevice(Device.gpu());
            }
            case "tensorrt" -> c.optDevice(Device.gpu()).optOption("ortDevice", "TensorRT");
            default -> throw new VigilException("model.device: unknown device '" + device + "'");
        }
        return c.build().loadModel();
    }

    public ModelPackage modelPackage() {
        return pkg;
    }

    public String id() {
        return pkg.manifest().id();
    }

    public Preprocessing preprocessing() {
        return pkg.preprocessing();
    }

    public List<String> labels() {
        return pkg.manifest().labels();
    }

    public String device() {
        return device;
    }

    /** Whether this model gives drift features beside the probabilities. */
    public boolean hasDriftFeatures() {
        return pkg.driftTensor() != null;
    }

    /** The heads of a multi-task model other than the verdict head (empty for a single classifier). */
    public List<dev.vigil.core.model.Manifest.Head> otherHeads() {
        return otherHeads;
    }

    /** Whether this model gives a defect map beside the probabilities. */
    public boolean hasDefectMap() {
        return pkg.defectMapTensor() != null;
    }

    /**
     * What the model said about a batch.
     *
     * @param probabilities class probabilities per image, in the order of {@link #labels()}
     * @param maps the defect maps of the batch; null when the model has none
     * @param drift each image's standardised features for the drift watch; null when the model has none
     * @param attributes each image's other heads of a multi-task model ({@link dev.vigil.app.mqtt.Attribute}); null
     *     for a single classifier
     * @param driftReference what turns an image's drift features into its embedding ({@link #embedding}); null when
     *     the model has none
     */
    public record Inference(float[][] probabilities, DefectMap.Batch maps, float[][] drift,
            List<java.util.Map<String, dev.vigil.app.mqtt.Attribute>> attributes, DriftReference driftReference) {
        public Inference(float[][] probabilities, DefectMap.Batch maps, float[][] drift) {
            this(probabilities, maps, drift, null, null);
        }

        public Inference(float[][] probabilities, DefectMap.Batch maps, float[][] drift,
                List<java.util.Map<String, dev.vigil.app.mqtt.Attribute>> attributes) {
            this(probabilities, maps, drift, attributes, null);
        }

        /**
         * Image {@code index}'s L2-normalised standardised pooled features (what {@code /api/samples/{id}/similar}
         * compares), made on request: only flagged frames need one. Null when the model has no drift features or
         * they cannot be recovered.
         */
        public float[] embedding(int index) {
            return driftReference == null || drift == null ? null
                    : driftReference.embed(probabilities[index], drift[index]);
        }

        /** Image {@code index}'s other heads; null for a single classifier. */
        public java.util.Map<String, dev.vigil.app.mqtt.Attribute> attributes(int index) {
            return attributes == null ? null : attributes.get(index);
        }

        /** Image {@code index}'s defect map for its {@code frame} (the image the input was made from); null if none. */
        public DefectMap map(int index, Preprocessing pre, org.opencv.core.Mat frame) {
            return maps == null ? null : maps.map(index, DefectMap.Geometry.of(pre, frame.cols(), frame.rows()));
        }
    }

    /** Class probabilities for {@code count} preprocessed images (CHW floats, one after the other). */
    public float[][] classify(float[] batch, int count) {
        return infer(batch, count).probabilities();
    }

    /**
     * Probabilities and, when the package has one, the defect maps of {@code count} preprocessed images. Outputs are
     * found by the names the manifest gives (DJL names each array after its ONNX output); a single-output package
     * from before defect maps is read as before.
     */
    public Inference infer(float[] batch, int count) {
        Preprocessing p = preprocessing();
        NDManager m = model.getNDManager().newSubManager();
        try (m) {
            NDArray x = m.create(batch, new Shape(count, 3, p.height(), p.width()));
            NDList outputs = predictor.predict(new NDList(x));
            String mapName = pkg.defectMapTensor();
            String driftName = pkg.driftTensor();
            List<dev.vigil.core.model.Manifest.Head> heads = otherHeads;
            NDArray probs = mapName == null && driftName == null && heads.isEmpty() ? outputs.get(0)
                    : output(outputs, pkg.manifest().output().tensor());
            int k = (int) probs.getShape().get(1);
            float[] flat = probs.toFloatArray();
            float[][] out = new float[count][k];
            for (int i = 0; i < count; i++) {
                System.arraycopy(flat, i * k, out[i], 0, k);
            }
            DefectMap.Batch maps = null;
            if (mapName != null && mapProblem == null) {
                NDArray map = output(outputs, mapName);
                try {
                    maps = DefectMap.Batch.of(map.toFloatArray(), map.getShape().getShape(), count, "model " + id()
                            + " output '" + mapName + "'");
                } catch (VigilException e) {
                    // the verdicts do not depend on the map: keep inspecting without one, and say so once
                    mapProblem = e.getMessage();
                    LOG.log(System.Logger.Level.WARNING, mapProblem + "; inspecting without defect maps (no region,"
                            + " no heatmaps) until another model is loaded");
                }
            }
            float[][] drift = null;
            if (driftName != null) {
                NDArray z = output(outputs, driftName);
                int d = (int) z.getShape().get(z.getShape().dimension() - 1);
                float[] zf = z.toFloatArray();
                if (zf.length == count * d) {
                    drift = new float[count][];
                    for (int i = 0; i < count; i++) {
                        drift[i] = java.util.Arrays.copyOfRange(zf, i * d, (i + 1) * d);
                    }
                }
            }
            List<java.util.Map<String, dev.vigil.app.mqtt.Attribute>> attributes = null;
            if (!heads.isEmpty()) {
                List<float[]> flats = new java.util.ArrayList<>();
                for (var h : heads) {
                    flats.add(output(outputs, h.tensor()).toFloatArray());
                }
                attributes = new java.util.ArrayList<>();
                for (int i = 0; i < count; i++) {
                    List<float[]> row = new java.util.ArrayList<>();
                    for (int h = 0; h < heads.size(); h++) {
                        int kh = flats.get(h).length / count;
                        row.add(java.util.Arrays.copyOfRange(flats.get(h), i * kh, (i + 1) * kh));
                    }
                    attributes.add(dev.vigil.app.mqtt.Attribute.of(heads, row));
                }
            }
            return new Inference(out, maps, drift, attributes, driftReference);
        } catch (TranslateException e) {
            throw new IllegalStateException("inference failed with model " + id() + ": " + e.getMessage(), e);
        }
    }

    private NDArray output(NDList outputs, String name) {
        NDArray a = outputs.get(name);
        if (a == null) {
            throw new IllegalStateException("model " + id() + " gave no output named '" + name + "' (it gave "
                    + outputs.stream().map(NDArray::getName).toList() + "); the package is damaged: retrain it");
        }
        return a;
    }

    @Override
    public void close() {
        predictor.close();
        model.close();
    }
}
