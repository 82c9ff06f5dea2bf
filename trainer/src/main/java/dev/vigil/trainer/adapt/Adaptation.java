package dev.vigil.trainer.adapt;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.vigil.core.VigilException;
import dev.vigil.core.drift.DriftWindow;
import dev.vigil.core.image.ImageIo;
import dev.vigil.core.image.InputStatistics;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.image.Variant;
import dev.vigil.core.model.Manifest;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.data.LabelledImage;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.trainer.model.OrtClassifier;
import dev.vigil.trainer.model.PackageWriter;
import dev.vigil.trainer.onnx.OnnxGraph;
import dev.vigil.trainer.onnx.OnnxTensors;
import dev.vigil.trainer.train.InputReference;
import dev.vigil.trainer.train.TransferNetwork;
import dev.vigil.trainer.util.Progress;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * {@code vigil adapt}: a model package brought to a new condition (camera, lens, lighting, product variant) without
 * retraining (docs/trainer.md, "Adaptation to a new condition").
 *
 * <ol>
 *   <li>The input normalisation (per channel mean and std) is rewritten so that the frames reach the network with
 *       the training images' per-channel mean and spread ({@link InputStatistics#alignedTo}; packages that keep
 *       their training figures in {@code output.drift.input}): a change of exposure, gain or white balance is undone
 *       before the first layer. Everything after it runs on the frames so normalised.</li>
 *   <li>The package runs on unlabelled frames of the new condition; its drift output gives each frame's pooled
 *       features (undone from their standardisation).</li>
 *   <li>The features' per-feature mean and spread on those frames are matched to the training images' — those of the
 *       good class ({@code reference good}: frames from a line are mostly good parts) or of all of them
 *       ({@code reference all}: the frames have the training set's mix). The head's standardisation and the drift
 *       reference are rewritten so that the new condition's features land where the training ones were: an affine
 *       alignment per feature, {@code a(f) = (f - mean_new) * sd_ref / sd_new + mean_ref}, folded into the
 *       initializers (nothing else in the graph changes).</li>
 *   <li>Optionally, the head's linear layer is fine-tuned on a few labelled frames of the new condition (cross-entropy,
 *       pulled towards the old weights).</li>
 *   <li>The drift score of the frames before and after, in-sample and on the half of the frames not used for the
 *       statistics, is reported.</li>
 * </ol>
 * The result is a new package (its own id; {@code output.drift.adaptedFrom} names the source): a candidate like any
 * other, to be evaluated, shadowed and promoted.
 */
public final class Adaptation {
    /**
     * @param reference {@code good} or {@code all}
     * @param fineTuneSteps gradient steps on the labelled frames (0 = none)
     * @param window frames per drift window in the reported scores (the service's default)
     */
    public record Options(String reference, int fineTuneSteps, float fineTuneLr, float anchor, int window, long seed,
            String input) {
        public Options {
            if (!reference.equals("good") && !reference.equals("all")) {
                throw new VigilException("--reference must be good (frames are mostly good parts) or all (frames"
                        + " have the training set's mix of classes), found '" + reference + "'");
            }
            if (!List.of("auto", "on", "off").contains(input)) {
                throw new VigilException("--input must be auto (the input normalisation is re-estimated when that"
                        + " brings the frames nearer the training images), on or off, found '" + input + "'");
            }
            if (fineTuneSteps < 0 || window < 2) {
                throw new VigilException("--fine-tune-steps must be 0 or more and the drift window at least 2");
            }
        }

        public static Options defaults() {
            return new Options("good", 300, 0.05f, 1e-2f, 50, 42L, "auto");
        }

        public Options withReference(String r) {
            return new Options(r, fineTuneSteps, fineTuneLr, anchor, window, seed, input);
        }

        /**
         * Whether the input normalisation is re-estimated too, for packages that keep their training figures:
         * {@code on}, {@code off}, or {@code auto} (both ways are tried and the one whose held-out drift score is
         * lower is kept).
         */
        public Options withInput(String on) {
            return new Options(reference, fineTuneSteps, fineTuneLr, anchor, window, seed, on);
        }
    }

    /**
     * What adaptation did.
     *
     * @param driftBefore mean drift score over sliding windows of the frames, with the source package
     * @param driftAfter the same with the adapted package (in-sample: the frames set its statistics)
     * @param heldOutBefore the source package's score on one half of the frames
     * @param heldOutAfter the score on that half after adapting on the other half (NaN below 20 frames)
     * @param labelledAccuracyBefore accuracy of the source package on the labelled frames (NaN without them)
     * @param labelledAccuracyAfter accuracy of the adapted package on them (in-sample when the head was fine-tuned)
     */
    public record Result(ModelPackage pkg, int frames, int labelled, double driftBefore, double driftAfter,
            double heldOutBefore, double heldOutAfter, double labelledAccuracyBefore, double labelledAccuracyAfter) {}

    /** The initializers adaptation rewrites. */
    private record Head(float[] shift, float[] scale, float[][] driftMean, float[][] driftScale, float[] weight,
            float[] bias, int classes) {
        int dims() {
            return shift.length;
        }
    }

    /** The per-feature alignment {@code a(f) = (f - from) * ratio + to}. */
    private record Alignment(float[] from, float[] ratio, float[] to) {}

    /**
     * The most a feature's spread is rescaled by: a feature a change of condition all but switched off (dark regions
     * after a gamma curve) must not have its remaining noise blown up into the head.
     */
    static final float MAX_RATIO = 10f;
    private final ModelPackage source;
    private final Options options;
    private final PrintStream log;

    public Adaptation(ModelPackage source, Options options, PrintStream log) {
        if (source.driftTensor() == null) {
            throw new VigilException("model package " + source.dir() + " has no drift features (trained by an"
                    + " earlier Vigil, or a patch-head or good-parts-only model): adapt needs a pooled-head package;"
                    + " retrain it with this version");
        }
        this.source = source;
        this.options = options;
        this.log = log;
    }

    /**
     * Adapts the source package to the condition {@code frames} show and writes the result to {@code out}.
     *
     * @param labelled a few labelled frames of the new condition (class folders named like the model's classes);
     *     null for none
     */
    public Result adapt(List<Path> frames, dev.vigil.trainer.data.ImageDataset labelled, Path out)
            throws IOException {
        List<LabelledImage> lab = labelled == null ? List.of() : labelled.images();
        if (labelled != null && source.manifest().output().heads() != null) {
            throw new VigilException("--labelled fine-tunes a single head, but " + source.dir() + " is a multi-task"
                    + " model (heads " + source.manifest().output().heads().stream().map(Manifest.Head::name).toList()
                    + "); adapt it without --labelled (its standardisation is shared by every head)");
        }
        if (frames.size() < 2) {
            throw new VigilException("adapt needs at least 2 unlabelled frames of the new condition, found "
                    + frames.size() + "; 50 or more give steadier statistics");
        }
        if (frames.size() < 20) {
            log.printf(Locale.ROOT, "warning: %d frames; the statistics of 50 or more are steadier%n", frames.size());
        }
        PackageWriter.requireEmpty(out);
        OnnxGraph graph = OnnxGraph.load(source.modelFile());
        Head head = head(graph);
        Run before = run(source.preprocessing(), null, frames, "features of the new frames");
        // first the input normalisation takes the frames to the training images' per-channel figures, then the
        // BatchNorm layers of the trainable suffix (if any) take the new frames' statistics; the head's
        // standardisation is then aligned on the features they give
        InputAlignment aligned = inputAlignment(frames);
        double heldOutBefore = frames.size() >= 20 ? meanScore(pick(before.drift(), halves(frames.size())[1]))
                : Double.NaN;
        double driftBefore = meanScore(before.drift());
        Candidate chosen;
        Map<String, Object> choice = null;
        if (aligned == null) {
            chosen = candidate(graph, head, null, frames, before);
        } else if (options.input().equals("on")) {
            chosen = candidate(graph, head, aligned, frames, before);
        } else {
            // auto: both, and the one whose frames end up nearer the training images' features (the held-out drift
            // score, from unlabelled frames alone) is kept
            Candidate withInput = candidate(graph, head, aligned, frames, before);
            Candidate featuresOnly = candidate(graph, head, null, frames, before);
            boolean keep = withInput.score() <= featuresOnly.score();
            chosen = keep ? withInput : featuresOnly;
            choice = new LinkedHashMap<>();
            choice.put("scoreWithInput", withInput.score());
            choice.put("scoreFeaturesOnly", featuresOnly.score());
            choice.put("applied", keep);
            log.printf(Locale.ROOT, "input normalisation: drift score %.2f with it, %.2f without: %s%n",
                    withInput.score(), featuresOnly.score(), keep ? "applied" : "left as it was");
        }
        InputAlignment input = chosen.input();
        Preprocessing pre = chosen.pre();
        byte[] bnModel = chosen.bnModel();
        BatchNormReestimation.Outcome bn = chosen.bn();
        graph = bn.graph();
        Head adapted = chosen.adapted();
        double heldOutAfter = chosen.heldOut();

        double accBefore = Double.NaN;
        int[] y = null;
        List<Path> labPaths = lab.stream().map(LabelledImage::path).toList();
        if (!lab.isEmpty()) {
            Run r = run(source.preprocessing(), null, labPaths, "features of the labelled frames");
            y = labels(labelled, head.classes());
            accBefore = accuracy(r.probabilities(), y);
            if (options.fineTuneSteps() > 0) {
                Run rb = bnModel == null && input == null ? r : run(pre, bnModel, labPaths,
                        "labelled frames, new normalisation");
                adapted = fineTune(adapted, unstandardise(rb, head), y);
            }
        }
        byte[] model = rewrite(graph, adapted).toBytes();
        Map<String, Object> report = report(frames.size(), lab.size(), driftBefore, heldOutBefore, heldOutAfter,
                accBefore, bn, input, choice);
        // the adapted package's own view of the frames, for the in-sample score after
        ModelPackage pkg = PackageWriter.write(out, model, report, (modelSha, reportSha) -> manifest(modelSha,
                reportSha, pre));
        Run after = run(pkg, pkg.preprocessing(), null, frames, "checking the adapted package");
        double driftAfter = meanScore(after.drift());
        double accAfter = y == null ? Double.NaN : accuracy(run(pkg, pkg.preprocessing(), null, labPaths,
                "labelled frames, adapted").probabilities(), y);
        log.printf(Locale.ROOT, "adapted %s -> %s on %d frames (reference %s)%s%n", source.manifest().id(),
                pkg.manifest().id(), frames.size(), options.reference(), lab.isEmpty() ? ""
                        : ", head fine-tuned on " + lab.size() + " labelled frames");
        return new Result(pkg, frames.size(), lab.size(), driftBefore, driftAfter, heldOutBefore,
                heldOutAfter, accBefore, accAfter);
    }

    /** Probabilities and drift features of a package on image files. */
    private record Run(float[][] probabilities, float[][] drift) {}

    /** The source package on images normalised by {@code pre}, with {@code model} in place of its graph if given. */
    private Run run(Preprocessing pre, byte[] model, List<Path> images, String label) {
        return run(source, pre, model, images, label);
    }

    /** {@code model}: a graph to run in place of the package's file (null = the file). */
    private Run run(ModelPackage pkg, Preprocessing pre, byte[] model, List<Path> images, String label) {
        float[][] probs = new float[images.size()][];
        float[][] drift = new float[images.size()][];
        int batch = 4;
        try (OrtClassifier clf = new OrtClassifier(pkg, model); Progress progress = new Progress(log, label, images.size())) {
            for (int start = 0; start < images.size(); start += batch) {
                int n = Math.min(batch, images.size() - start);
                float[] x = new float[n * pre.valuesPerImage()];
                for (int i = 0; i < n; i++) {
                    Path p = images.get(start + i);
                    float[] v = ImageIo.preprocess(ImageIo.read(p), pre, Variant.ORIGINAL, p.toString());
                    System.arraycopy(v, 0, x, i * pre.valuesPerImage(), v.length);
                }
                OrtClassifier.Outputs o = clf.runAll(x, n);
                for (int i = 0; i < n; i++) {
                    probs[start + i] = o.probabilities()[i];
                    drift[start + i] = o.drift()[i];
                }
                progress.step(n);
            }
        }
        return new Run(probs, drift);
    }

    private static Head head(OnnxGraph g) {
        TensorProto w = required(g, TransferNetwork.HEAD_WEIGHT);
        long[] wd = OnnxTensors.dims(w);
        int d = (int) wd[1];
        float[] dm = OnnxTensors.toFloats(required(g, ModelExporter.DRIFT_MEAN));
        float[] ds = OnnxTensors.toFloats(required(g, ModelExporter.DRIFT_SCALE));
        // the drift reference has a row per verdict class; a multi-task head has more logits than that (every
        // head's, side by side), which adaptation keeps as they are
        int classes = dm.length / d;
        return new Head(OnnxTensors.toFloats(required(g, TransferNetwork.HEAD_SHIFT)),
                OnnxTensors.toFloats(required(g, TransferNetwork.HEAD_SCALE)), rows(dm, classes, d),
                rows(ds, classes, d), OnnxTensors.toFloats(w), OnnxTensors.toFloats(required(g,
                        TransferNetwork.HEAD_BIAS)), classes);
    }

    private static TensorProto required(OnnxGraph g, String name) {
        TensorProto t = g.initializer(name);
        if (t == null) {
            throw new VigilException("the model has no tensor '" + name + "': it was not exported by this Vigil's"
                    + " trainer, so adapt cannot rewrite it; retrain it");
        }
        return t;
    }

    private static float[][] rows(float[] flat, int k, int d) {
        float[][] out = new float[k][];
        for (int i = 0; i < k; i++) {
            out[i] = java.util.Arrays.copyOfRange(flat, i * d, (i + 1) * d);
        }
        return out;
    }

    /** The raw pooled features back from the drift output: {@code f = z / scale[class] + mean[class]}. */
    private float[][] unstandardise(Run r, Head h) {
        float[][] f = new float[r.drift().length][];
        for (int i = 0; i < f.length; i++) {
            int c = headClass(r.probabilities()[i], h.classes(), source.okIndex());
            f[i] = new float[h.dims()];
            for (int j = 0; j < h.dims(); j++) {
                f[i][j] = r.drift()[i][j] / h.driftScale()[c][j] + h.driftMean()[c][j];
            }
        }
        return f;
    }

    /** The alignment that takes the frames {@code idx}'s feature statistics to the reference's. */
    private Alignment alignment(float[][] f, Head h, int[] idx) {
        int d = h.dims();
        float[] mean = new float[d];
        float[] sd = new float[d];
        for (int j = 0; j < d; j++) {
            double s = 0;
            double s2 = 0;
            for (int i : idx) {
                s += f[i][j];
                s2 += (double) f[i][j] * f[i][j];
            }
            mean[j] = (float) (s / idx.length);
            sd[j] = (float) Math.sqrt(Math.max(0, s2 / idx.length - (double) mean[j] * mean[j]));
        }
        float[] refMean = new float[d];
        float[] ratio = new float[d];
        int ok = source.okIndex();
        boolean good = options.reference().equals("good") && ok >= 0 && ok < h.classes();
        for (int j = 0; j < d; j++) {
            float refScale = good ? h.driftScale()[ok][j] : h.scale()[j];
            refMean[j] = good ? h.driftMean()[ok][j] : h.shift()[j];
            float refSd = 1f / refScale;
            // a feature (nearly) constant on the new frames keeps its spread: nothing to learn about it
            ratio[j] = sd[j] > 1e-6f ? Math.max(1 / MAX_RATIO, Math.min(MAX_RATIO, refSd / sd[j])) : 1f;
        }
        return new Alignment(mean, ratio, refMean);
    }

    /**
     * Folds the alignment into every standardisation that reads the features: {@code (a(f) - m) * s} equals
     * {@code (f - m') * s'} with {@code m' = from + (m - to) / ratio} and {@code s' = s * ratio}.
     */
    private static Head apply(Head h, Alignment a) {
        int d = h.dims();
        float[] shift = new float[d];
        float[] scale = new float[d];
        float[][] dm = new float[h.classes()][d];
        float[][] ds = new float[h.classes()][d];
        for (int j = 0; j < d; j++) {
            shift[j] = a.from()[j] + (h.shift()[j] - a.to()[j]) / a.ratio()[j];
            scale[j] = h.scale()[j] * a.ratio()[j];
            for (int c = 0; c < h.classes(); c++) {
                dm[c][j] = a.from()[j] + (h.driftMean()[c][j] - a.to()[j]) / a.ratio()[j];
                ds[c][j] = h.driftScale()[c][j] * a.ratio()[j];
            }
        }
        return new Head(shift, scale, dm, ds, h.weight(), h.bias(), h.classes());
    }

    /** What the adapted graph computes for raw features: head probabilities. */
    private static float[][] headProbabilities(Head h, float[][] f) {
        float[][] out = new float[f.length][];
        int d = h.dims();
        for (int i = 0; i < f.length; i++) {
            double[] logits = new double[h.classes()];
            for (int c = 0; c < h.classes(); c++) {
                double s = h.bias()[c];
                for (int j = 0; j < d; j++) {
                    s += h.weight()[c * d + j] * (f[i][j] - h.shift()[j]) * h.scale()[j];
                }
                logits[c] = s;
            }
            out[i] = softmax(logits);
        }
        return out;
    }

    /** Drift features as the adapted graph computes them (the predicted class from the head). */
    private static float[][] standardise(float[][] f, Head h) {
        float[][] probs = headProbabilities(h, f);
        float[][] z = new float[f.length][h.dims()];
        for (int i = 0; i < f.length; i++) {
            int c = dev.vigil.trainer.eval.Metrics.argmax(probs[i]);
            for (int j = 0; j < h.dims(); j++) {
                z[i][j] = (f[i][j] - h.driftMean()[c][j]) * h.driftScale()[c][j];
            }
        }
        return z;
    }

    /**
     * Fine-tunes the head's linear layer on labelled frames: class-weighted cross-entropy plus
     * {@code anchor * |W - W0|^2}, full-batch gradient descent with momentum.
     */
    private Head fineTune(Head h, float[][] f, int[] y) {
        int d = h.dims();
        int k = h.classes();
        int n = f.length;
        float[][] x = new float[n][d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                x[i][j] = (f[i][j] - h.shift()[j]) * h.scale()[j];
            }
        }
        int[] count = new int[k];
        for (int v : y) {
            count[v]++;
        }
        double[] cw = new double[k];
        for (int c = 0; c < k; c++) {
            cw[c] = count[c] == 0 ? 0 : n / (double) (k * count[c]);
        }
        float[] w0 = h.weight();
        float[] w = w0.clone();
        float[] b = h.bias().clone();
        float[] vw = new float[w.length];
        float[] vb = new float[k];
        float lr = options.fineTuneLr();
        for (int step = 0; step < options.fineTuneSteps(); step++) {
            float[] gw = new float[w.length];
            float[] gb = new float[k];
            double weight = 0;
            for (int i = 0; i < n; i++) {
                double[] logits = new double[k];
                for (int c = 0; c < k; c++) {
                    double s = b[c];
                    for (int j = 0; j < d; j++) {
                        s += w[c * d + j] * x[i][j];
                    }
                    logits[c] = s;
                }
                float[] p = softmax(logits);
                double wi = cw[y[i]];
                weight += wi;
                for (int c = 0; c < k; c++) {
                    float g = (float) (wi * (p[c] - (c == y[i] ? 1 : 0)));
                    gb[c] += g;
                    for (int j = 0; j < d; j++) {
                        gw[c * d + j] += g * x[i][j];
                    }
                }
            }
            for (int c = 0; c < k; c++) {
                vb[c] = 0.9f * vb[c] + (float) (gb[c] / weight);
                b[c] -= lr * vb[c];
            }
            for (int q = 0; q < w.length; q++) {
                float g = (float) (gw[q] / weight) + 2 * options.anchor() * (w[q] - w0[q]);
                vw[q] = 0.9f * vw[q] + g;
                w[q] -= lr * vw[q];
            }
        }
        return new Head(h.shift(), h.scale(), h.driftMean(), h.driftScale(), w, b, k);
    }

    private int[] labels(dev.vigil.trainer.data.ImageDataset labelled, int classes) {
        List<String> names = source.manifest().labels();
        List<LabelledImage> images = labelled.images();
        int[] y = new int[images.size()];
        for (int i = 0; i < y.length; i++) {
            String cls = labelled.classes().get(images.get(i).label());
            int c = names.indexOf(cls);
            if (c < 0 || c >= classes) {
                throw new VigilException("--labelled: class folder '" + cls + "' (" + images.get(i).path()
                        + ") is not one of the model's classes " + names.subList(0, classes) + "; name the folders"
                        + " after them");
            }
            y[i] = c;
        }
        return y;
    }

    private OnnxGraph rewrite(OnnxGraph g, Head h) {
        Map<String, TensorProto> replace = new LinkedHashMap<>();
        int d = h.dims();
        replace.put(TransferNetwork.HEAD_SHIFT, OnnxTensors.floatTensor(TransferNetwork.HEAD_SHIFT,
                OnnxTensors.dims(g.initializer(TransferNetwork.HEAD_SHIFT)), h.shift()));
        replace.put(TransferNetwork.HEAD_SCALE, OnnxTensors.floatTensor(TransferNetwork.HEAD_SCALE,
                OnnxTensors.dims(g.initializer(TransferNetwork.HEAD_SCALE)), h.scale()));
        replace.put(ModelExporter.DRIFT_MEAN, OnnxTensors.floatTensor(ModelExporter.DRIFT_MEAN,
                new long[] {h.classes(), d}, OnnxTensors.flatten(h.driftMean())));
        replace.put(ModelExporter.DRIFT_SCALE, OnnxTensors.floatTensor(ModelExporter.DRIFT_SCALE,
                new long[] {h.classes(), d}, OnnxTensors.flatten(h.driftScale())));
        replace.put(TransferNetwork.HEAD_WEIGHT, OnnxTensors.floatTensor(TransferNetwork.HEAD_WEIGHT,
                new long[] {h.bias().length, d}, h.weight()));
        replace.put(TransferNetwork.HEAD_BIAS, OnnxTensors.floatTensor(TransferNetwork.HEAD_BIAS,
                new long[] {h.bias().length}, h.bias()));
        GraphProto.Builder gb = g.graph().toBuilder().clearInitializer();
        for (TensorProto t : g.graph().getInitializerList()) {
            gb.addInitializer(replace.getOrDefault(t.getName(), t));
        }
        ModelProto m = g.model().toBuilder().setGraph(gb).build();
        return new OnnxGraph(m);
    }

    private Manifest manifest(String modelSha, String reportSha, Preprocessing pre) {
        Manifest s = source.manifest();
        Instant now = Instant.now();
        Manifest.Drift d = s.output().drift();
        Manifest.Output output = new Manifest.Output(s.output().tensor(), s.output().kind(), s.output().defectMap(),
                new Manifest.Drift(d.tensor(), d.reference(), d.images(), s.id(), d.excess(), d.input()),
                s.output().verdictHead(), s.output().heads());
        Manifest.Input in = s.input();
        Manifest.Input input = new Manifest.Input(in.tensor(), in.width(), in.height(), in.colorOrder(), in.scale(),
                pre.mean(), pre.std(), in.layout(), in.fit(), in.tiles());
        Map<String, String> files = new LinkedHashMap<>();
        files.put(ModelPackage.MODEL, modelSha);
        files.put(ModelPackage.REPORT, reportSha);
        return new Manifest(s.schemaVersion(), PackageWriter.id(now, modelSha), now.toString(), s.labels(),
                s.okLabel(), input, output, s.backbone(), s.training(), s.operatingPoint(), s.metrics(),
                modelSha, files);
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> report(int frames, int labelled, double driftBefore, double heldOutBefore,
            double heldOutAfter, double accBefore, BatchNormReestimation.Outcome bn, InputAlignment input,
            Map<String, Object> choice) throws IOException {
        Map<String, Object> rep = ModelPackage.json().readValue(
                source.dir().resolve(ModelPackage.REPORT).toFile(), LinkedHashMap.class);
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("from", source.manifest().id());
        a.put("frames", frames);
        a.put("reference", options.reference());
        a.put("labelledFrames", labelled);
        a.put("driftWindow", options.window());
        a.put("driftBefore", nullIfNaN(driftBefore));
        a.put("heldOutDriftBefore", nullIfNaN(heldOutBefore));
        a.put("heldOutDriftAfter", nullIfNaN(heldOutAfter));
        a.put("labelledAccuracyBefore", nullIfNaN(accBefore));
        Map<String, Object> bnReport = new LinkedHashMap<>();
        bnReport.put("nodes", bn.nodes());
        bnReport.put("meanShift", bn.meanShift());
        bnReport.put("note", "running mean and variance of the BatchNormalization nodes of the trainable suffix,"
                + " from every frame (the held-out drift figure uses them too)");
        a.put("batchNorm", bnReport);
        a.put("inputMode", options.input());
        a.put("inputChoice", choice);
        a.put("input", input == null ? null : input.report(source.preprocessing()));
        a.put("note", "the operating point and validation figures are the source package's, measured before the"
                + " change of condition; evaluate the adapted package on labelled frames of the new condition");
        rep.put("adaptation", a);
        return rep;
    }

    /**
     * The input normalisation the frames are brought back with, and the frames' per-channel pixel figures behind it.
     */
    private record InputAlignment(Preprocessing pre, InputStatistics.Channels frames,
            InputStatistics.Channels reference) {
        Map<String, Object> report(Preprocessing from) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("framesPixelMean", frames.mean());
            m.put("framesPixelStd", frames.std());
            m.put("referenceMean", reference.mean());
            m.put("referenceStd", reference.std());
            m.put("meanBefore", from.mean());
            m.put("stdBefore", from.std());
            m.put("meanAfter", pre.mean());
            m.put("stdAfter", pre.std());
            m.put("note", "input.mean and input.std rewritten so that the frames reach the network with the training"
                    + " images' per-channel mean and spread (output.drift.input); measured on every frame");
            return m;
        }
    }

    /**
     * One way of adapting: the frames normalised by {@code pre}, the suffix's BatchNorm re-estimated on them, the
     * head's standardisation aligned on the features they give.
     *
     * @param heldOut drift score of half the frames with the alignment from the other half (NaN below 20 frames)
     * @param score what candidates are compared by: {@code heldOut}, or the in-sample score below 20 frames
     */
    private record Candidate(InputAlignment input, Preprocessing pre, BatchNormReestimation.Outcome bn,
            byte[] bnModel, Head adapted, double heldOut, double score) {}

    /** {@code input}: the input alignment to adapt with, null to keep the source's normalisation. */
    private Candidate candidate(OnnxGraph graph, Head head, InputAlignment input, List<Path> frames, Run before) {
        Preprocessing pre = input == null ? source.preprocessing() : input.pre();
        String what = input == null ? "features" : "input and features";
        BatchNormReestimation.Outcome bn = BatchNormReestimation.reestimate(graph,
                BatchNormReestimation.suffixBatchNorms(graph, source.manifest().training().cut()), pre, frames, log);
        byte[] bnModel = bn.nodes().isEmpty() ? null : bn.graph().toBytes();
        Run base = bnModel == null && pre.equals(source.preprocessing()) ? before : run(pre, bnModel, frames,
                "features after the new normalisation (" + what + ")");
        float[][] f = unstandardise(base, head);
        Head adapted = apply(head, alignment(f, head, allIndices(f.length)));
        double heldOut = Double.NaN;
        if (frames.size() >= 20) {
            // honest figure: statistics from one half, the score on the other
            int[][] halves = halves(f.length);
            Head fromA = apply(head, alignment(f, head, halves[0]));
            heldOut = meanScore(standardise(pick(f, halves[1]), fromA));
        }
        double score = Double.isNaN(heldOut) ? meanScore(standardise(f, adapted)) : heldOut;
        return new Candidate(input, pre, bn, bnModel, adapted, heldOut, score);
    }

    /** The input alignment for {@code frames}; null when it is off or the package keeps no training figures. */
    private InputAlignment inputAlignment(List<Path> frames) {
        Manifest.InputFigures ref = source.manifest().output().drift().input();
        if (options.input().equals("off")) {
            return null;
        }
        if (ref == null) {
            log.println("note: " + source.dir() + " keeps no input figures of its training images (trained by an"
                    + " earlier Vigil): only the features are aligned; retrain it to have the input normalisation"
                    + " re-estimated too");
            return null;
        }
        Preprocessing from = source.preprocessing();
        InputStatistics stats = new InputStatistics(from);
        try (Progress progress = new Progress(log, "input statistics of the new frames", frames.size())) {
            for (Path f : frames) {
                stats.add(ImageIo.read(f), f.toString());
                progress.step(1);
            }
        }
        InputStatistics.Channels reference = InputReference.reference(ref,
                options.reference().equals("good") ? source.okIndex() : -1);
        InputStatistics.Channels px = stats.pixels();
        return new InputAlignment(InputStatistics.alignedTo(from, px, reference), px, reference);
    }

    private static Object nullIfNaN(double v) {
        return Double.isNaN(v) ? null : v;
    }

    /**
     * Mean score of sliding windows of {@code window} frames over {@code z} (one window when there are fewer),
     * normalised as the service reports it.
     */
    private double meanScore(float[][] z) {
        int w = Math.min(options.window(), z.length);
        DriftWindow win = new DriftWindow(w, z[0].length);
        double sum = 0;
        int n = 0;
        for (float[] row : z) {
            double s = win.add(row);
            if (!Double.isNaN(s)) {
                sum += s;
                n++;
            }
        }
        return source.manifest().output().drift().normalise(sum / n, w);
    }

    private int[][] halves(int n) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        java.util.Collections.shuffle(order, new Random(options.seed()));
        int[] a = order.subList(0, n / 2).stream().mapToInt(Integer::intValue).sorted().toArray();
        int[] b = order.subList(n / 2, n).stream().mapToInt(Integer::intValue).sorted().toArray();
        return new int[][] {a, b};
    }

    private static int[] allIndices(int n) {
        return java.util.stream.IntStream.range(0, n).toArray();
    }

    private static float[][] pick(float[][] a, int[] idx) {
        float[][] out = new float[idx.length][];
        for (int i = 0; i < idx.length; i++) {
            out[i] = a[idx[i]];
        }
        return out;
    }

    /**
     * The class the supervised head predicts (the one the graph standardised the drift features by) from a package's
     * output probabilities. A combined package adds an {@code anomaly} class after the head's {@code K}: there
     * {@code ok = 1 - D}, defect class {@code k} = {@code D P_k} and {@code anomaly = D P_ok}, so the head's own
     * ranking is that of the defect classes' columns with the anomaly column in the ok class's place.
     */
    static int headClass(float[] probabilities, int classes, int ok) {
        if (probabilities.length == classes || ok < 0 || ok >= classes) {
            return dev.vigil.trainer.eval.Metrics.argmax(java.util.Arrays.copyOf(probabilities, classes));
        }
        float[] head = java.util.Arrays.copyOf(probabilities, classes);
        head[ok] = probabilities[classes];
        return dev.vigil.trainer.eval.Metrics.argmax(head);
    }

    private static float[] softmax(double[] logits) {
        double max = java.util.Arrays.stream(logits).max().orElse(0);
        double sum = 0;
        float[] p = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            sum += Math.exp(logits[i] - max);
        }
        for (int i = 0; i < logits.length; i++) {
            p[i] = (float) (Math.exp(logits[i] - max) / sum);
        }
        return p;
    }

    private static double accuracy(float[][] probs, int[] y) {
        int ok = 0;
        for (int i = 0; i < y.length; i++) {
            ok += dev.vigil.trainer.eval.Metrics.argmax(probs[i]) == y[i] ? 1 : 0;
        }
        return ok / (double) y.length;
    }
}
