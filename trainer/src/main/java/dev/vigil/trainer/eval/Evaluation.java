package dev.vigil.trainer.eval;

import dev.vigil.core.model.Manifest;

import dev.vigil.core.VigilException;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.core.image.ImageIo;
import dev.vigil.trainer.data.LabelledImage;
import dev.vigil.core.image.Variant;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.model.OrtClassifier;
import dev.vigil.trainer.util.Progress;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** Runs a model package over a labelled folder with ONNX Runtime and measures it. */
public final class Evaluation {
    /** Images per ONNX Runtime run. */
    static final int EVALUATION_BATCH = 2;

    private Evaluation() {}

    /**
     * Result plus how many images could not be read.
     *
     * @param auroc image-level area under the ROC curve of the defect score {@code 1 - P(ok)}, defective images
     *     against good ones; null without a good-part class or without images of both kinds
     */
    public record Outcome(Metrics metrics, int skipped, Double auroc) {}

    /**
     * Runs the package over every image of {@code data}. Folders must be classes of the model; for a model with a
     * memory of good parts (an {@value Manifest#ANOMALY_LABEL} class: good parts alone, or combined with a
     * supervised head), a folder the model does not know is a defect type nobody labelled and counts as that class.
     */
    public static Outcome run(ModelPackage pkg, ImageDataset data, PrintStream log) {
        List<String> labels = pkg.manifest().labels();
        int okIndex = pkg.okIndex();
        int anomalyIndex = okIndex < 0 ? -1 : labels.indexOf(Manifest.ANOMALY_LABEL);
        int[] labelOf = new int[data.classes().size()];
        for (int i = 0; i < labelOf.length; i++) {
            String c = data.classes().get(i);
            labelOf[i] = labels.indexOf(c);
            if (labelOf[i] < 0 && anomalyIndex >= 0) {
                labelOf[i] = anomalyIndex;
            } else if (labelOf[i] < 0) {
                throw new VigilException("class folder '" + c + "' in " + data.root() + " is not a class of model "
                        + pkg.manifest().id() + " (its classes are " + labels + "); rename or remove the folder");
            }
        }
        Preprocessing pre = pkg.preprocessing();
        List<Integer> truth = new ArrayList<>();
        List<float[]> probs = new ArrayList<>();
        int skipped = 0;
        // two images per run: with test-time augmentation in the graph each is up to 8 forward passes, and the
        // service evaluates candidates in its own (small) process; 16 at once took ONNX Runtime's arena to ~0.6 GB
        int batchSize = EVALUATION_BATCH;
        try (OrtClassifier clf = new OrtClassifier(pkg);
                Progress progress = new Progress(log, "evaluating", data.images().size())) {
            float[] batch = new float[batchSize * pre.valuesPerImage()];
            List<Integer> pending = new ArrayList<>();
            for (LabelledImage img : data.images()) {
                float[] x;
                try {
                    x = ImageIo.preprocess(ImageIo.read(img.path()), pre, Variant.ORIGINAL, img.path().toString());
                } catch (VigilException e) {
                    log.println("warning: skipping " + img.path() + ": " + e.getMessage());
                    skipped++;
                    progress.step(1);
                    continue;
                }
                System.arraycopy(x, 0, batch, pending.size() * x.length, x.length);
                pending.add(labelOf[img.label()]);
                if (pending.size() == batchSize) {
                    flush(clf, batch, pending, truth, probs);
                    progress.step(batchSize);
                }
            }
            int rest = pending.size();
            flush(clf, batch, pending, truth, probs);
            progress.step(rest);
        }
        int[] t = truth.stream().mapToInt(Integer::intValue).toArray();
        float[][] p = probs.toArray(float[][]::new);
        Metrics m = Metrics.of(labels, t, p, okIndex, pkg.defectThreshold());
        return new Outcome(m, skipped, auroc(t, p, okIndex));
    }

    /** AUROC of {@code 1 - P(ok)}, defects against good parts; null when it cannot be computed. */
    static Double auroc(int[] truth, float[][] probs, int okIndex) {
        if (okIndex < 0) {
            return null;
        }
        List<Double> defect = new ArrayList<>();
        List<Double> ok = new ArrayList<>();
        for (int i = 0; i < truth.length; i++) {
            (truth[i] == okIndex ? ok : defect).add(1.0 - probs[i][okIndex]);
        }
        double a = Auroc.of(defect.stream().mapToDouble(Double::doubleValue).toArray(),
                ok.stream().mapToDouble(Double::doubleValue).toArray());
        return Double.isNaN(a) ? null : a;
    }

    private static void flush(OrtClassifier clf, float[] batch, List<Integer> pending, List<Integer> truth,
            List<float[]> probs) {
        if (pending.isEmpty()) {
            return;
        }
        float[][] p = clf.run(batch, pending.size());
        for (int i = 0; i < pending.size(); i++) {
            truth.add(pending.get(i));
            probs.add(p[i]);
        }
        pending.clear();
    }
}
