package dev.vigil.trainer.features;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.onnx.GraphSurgery;
import dev.vigil.trainer.onnx.OnnxGraph;
import dev.vigil.trainer.onnx.OnnxTensors;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * Runs the frozen prefix of a backbone with ONNX Runtime and returns, per image, the cut feature map and the pooled
 * prefix taps. Closing it releases the native session.
 */
public final class FeatureExtractor implements AutoCloseable {
    private final FeatureSpec spec;
    private final boolean halfPrecision;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final String inputName;
    private final List<String> outputs;
    private long[] cutShape;
    private int[] tapChannels;

    public FeatureExtractor(Backbone backbone, FeatureSpec spec) {
        this(backbone, spec, true);
    }

    /**
     * @param halfPrecision keep patch maps in half precision (as cached and trained on); false for the full-precision
     *     reference that export verification compares against
     */
    public FeatureExtractor(Backbone backbone, FeatureSpec spec, boolean halfPrecision) {
        this.spec = spec;
        this.halfPrecision = halfPrecision;
        OnnxGraph g = backbone.graph();
        if (spec.patches()) {
            PatchFeatures.Layout layout = PatchFeatures.layout(g, spec.preprocessing(), spec.prefixTaps());
            this.inputName = g.inputName();
            this.outputs = List.of(PatchFeatures.TENSOR);
            this.env = OrtEnvironment.getEnvironment();
            try {
                this.session = env.createSession(PatchFeatures.graph(g, spec.preprocessing(), layout,
                        spec.prefixTaps()).toBytes(), sessionOptions());
            } catch (OrtException e) {
                throw new IllegalStateException("ONNX Runtime refused the patch-feature graph of " + backbone.name()
                        + ": " + e.getMessage(), e);
            }
            run(new float[spec.preprocessing().valuesPerImage()], 1);
            return;
        }
        List<String> wanted = new ArrayList<>();
        if (spec.needsCutMap()) {
            wanted.add(spec.cut());
        }
        wanted.addAll(spec.prefixTaps());
        List<String> distinct = new ArrayList<>(new LinkedHashSet<>(wanted));
        OnnxGraph prefix = GraphSurgery.prefix(g, spec.preprocessing().height(), spec.preprocessing().width(),
                distinct);
        this.inputName = g.inputName();
        this.outputs = distinct.stream().map(t -> GraphSurgery.floatName(g, t)).toList();
        this.env = OrtEnvironment.getEnvironment();
        try {
            this.session = env.createSession(prefix.toBytes(), sessionOptions());
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime refused the prefix graph of " + backbone.name() + ": "
                    + e.getMessage(), e);
        }
        run(new float[spec.preprocessing().valuesPerImage()], 1); // learns the output shapes
    }

    /** Session options for this machine: all cores for one session, full graph optimisation. */
    public static OrtSession.SessionOptions sessionOptions() throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setIntraOpNumThreads(Runtime.getRuntime().availableProcessors());
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return o;
    }

    public FeatureSpec spec() {
        return spec;
    }

    /** CHW shape of the cut feature map, known after the first batch. */
    public long[] cutShape() {
        return cutShape;
    }

    public int[] tapChannels() {
        return tapChannels;
    }

    /** Runs the prefix over {@code count} preprocessed images laid out back to back in {@code batch}. */
    public List<Features> run(float[] batch, int count) {
        int per = spec.preprocessing().valuesPerImage();
        long[] shape = {count, 3, spec.preprocessing().height(), spec.preprocessing().width()};
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(batch, 0, count * per), shape);
                OrtSession.Result r = session.run(Map.of(inputName, in))) {
            float[][] outs = new float[outputs.size()][];
            long[][] shapes = new long[outputs.size()][];
            for (int i = 0; i < outputs.size(); i++) {
                OnnxTensor t = (OnnxTensor) r.get(outputs.get(i)).orElseThrow();
                shapes[i] = t.getInfo().getShape();
                FloatBuffer fb = t.getFloatBuffer();
                outs[i] = new float[fb.remaining()];
                fb.get(outs[i]);
            }
            return split(outs, shapes, count);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on the prefix: " + e.getMessage(), e);
        }
    }

    private List<Features> split(float[][] outs, long[][] shapes, int count) {
        if (spec.patches()) {
            cutShape = new long[] {shapes[0][1], shapes[0][2], shapes[0][3]};
            tapChannels = new int[0];
            List<Features> result = new ArrayList<>(count);
            int len = outs[0].length / count;
            int c = (int) cutShape[0];
            int cells = (int) (cutShape[1] * cutShape[2]);
            for (int b = 0; b < count; b++) {
                // cell-major (HWC): the patch head reads one row of C values per cell
                float[] full = halfPrecision ? null : new float[len];
                short[] half = halfPrecision ? new short[len] : null;
                for (int ch = 0; ch < c; ch++) {
                    int from = b * len + ch * cells;
                    for (int i = 0; i < cells; i++) {
                        if (halfPrecision) {
                            half[i * c + ch] = OnnxTensors.floatToHalf(outs[0][from + i]);
                        } else {
                            full[i * c + ch] = outs[0][from + i];
                        }
                    }
                }
                result.add(new Features(halfPrecision ? new CutMap.Halves(half) : new CutMap.Floats(full),
                        new float[0]));
            }
            return result;
        }
        int cutIndex = spec.needsCutMap() ? 0 : -1;
        List<String> distinct = new ArrayList<>(new LinkedHashSet<>(spec.needsCutMap()
                ? concat(spec.cut(), spec.prefixTaps()) : spec.prefixTaps()));
        if (cutIndex == 0) {
            cutShape = new long[] {shapes[0][1], shapes[0][2], shapes[0][3]};
        }
        tapChannels = new int[spec.prefixTaps().size()];
        int pooledLen = 0;
        for (int t = 0; t < spec.prefixTaps().size(); t++) {
            int o = distinct.indexOf(spec.prefixTaps().get(t));
            tapChannels[t] = (int) shapes[o][1];
            pooledLen += spec.pool().width(tapChannels[t]);
        }
        List<Features> result = new ArrayList<>(count);
        for (int b = 0; b < count; b++) {
            float[] cut = new float[0];
            if (cutIndex == 0) {
                int len = outs[0].length / count;
                cut = new float[len];
                System.arraycopy(outs[0], b * len, cut, 0, len);
            }
            float[] pooled = new float[pooledLen];
            int at = 0;
            for (int t = 0; t < spec.prefixTaps().size(); t++) {
                int o = distinct.indexOf(spec.prefixTaps().get(t));
                int len = outs[o].length / count;
                int channels = tapChannels[t];
                spec.pool().pool(outs[o], b * len, channels, len / channels, pooled, at);
                at += spec.pool().width(channels);
            }
            result.add(Features.ofFloats(cut, pooled));
        }
        return result;
    }

    private static List<String> concat(String first, List<String> rest) {
        List<String> l = new ArrayList<>();
        l.add(first);
        l.addAll(rest);
        return l;
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            // nothing more to release
        }
    }
}
