package dev.vigil.trainer.eval;

import dev.vigil.trainer.VigilException;
import dev.vigil.trainer.backbone.Preprocessing;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.data.ImageIo;
import dev.vigil.trainer.data.LabelledImage;
import dev.vigil.trainer.data.Variant;
import dev.vigil.trainer.model.ModelPackage;
import dev.vigil.trainer.model.OrtClassifier;
import dev.vigil.trainer.util.Progress;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** Runs a model package over a labelled folder with ONNX Runtime and measures it. */
public final class Evaluation {
    private Evaluation() {}

    /** Result plus how many images could not be read. */
    public record Outcome(Metrics metrics, int skipped) {}

    public static Outcome run(ModelPackage pkg, ImageDataset data, PrintStream log) {
        List<String> labels = pkg.manifest().labels();
        for (String c : data.classes()) {
            if (!labels.contains(c)) {
                throw new VigilException("class folder '" + c + "' in " + data.root() + " is not a class of model "
                        + pkg.manifest().id() + " (its classes are " + labels + "); rename or remove the folder");
            }
        }
        Preprocessing pre = pkg.preprocessing();
        List<Integer> truth = new ArrayList<>();
        List<float[]> probs = new ArrayList<>();
        int skipped = 0;
        int batchSize = 16;
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
                pending.add(labels.indexOf(data.classes().get(img.label())));
                if (pending.size() == batchSize) {
                    flush(clf, batch, pending, truth, probs);
                    progress.step(batchSize);
                }
            }
            int rest = pending.size();
            flush(clf, batch, pending, truth, probs);
            progress.step(rest);
        }
        Metrics m = Metrics.of(labels, truth.stream().mapToInt(Integer::intValue).toArray(),
                probs.toArray(float[][]::new), pkg.okIndex(), pkg.defectThreshold());
        return new Outcome(m, skipped);
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
