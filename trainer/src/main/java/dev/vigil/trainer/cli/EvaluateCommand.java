package dev.vigil.trainer.cli;

import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.eval.Evaluation;
import dev.vigil.trainer.eval.Metrics;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.core.AtomicFiles;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vigil evaluate}: measure a model package on a labelled folder. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = "Measure a model package on DIR (one folder per class): accuracy, balanced accuracy, per-class"
                + " precision/recall, confusion matrix, defect recall and false-reject rate at the operating point, AUROC"
                + " of the defect score. For a model from good parts alone every folder but the good one is a defect.")
public final class EvaluateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "PKG", description = "model package folder")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "labelled images, folder per class")
    Path data;

    @Option(names = "--json", paramLabel = "FILE", description = "also write the figures as JSON")
    Path json;

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        ModelPackage pkg = ModelPackage.open(model);
        ImageDataset ds = ImageDataset.scan(data, 1);
        Evaluation.Outcome o = Evaluation.run(pkg, ds, System.err);
        Metrics m = o.metrics();
        System.out.printf(Locale.ROOT, "model %s on %s: %d images (%d skipped)%n", pkg.manifest().id(), data,
                m.count(), o.skipped());
        System.out.printf(Locale.ROOT, "  accuracy %.4f, balanced accuracy %.4f%n", m.accuracy(),
                m.balancedAccuracy());
        if (o.auroc() != null) {
            System.out.printf(Locale.ROOT, "  AUROC %.4f (defect score 1 - P(%s), defective against good images)%n",
                    o.auroc(), pkg.manifest().okLabel());
        }
        if (m.defectThreshold() != null) {
            System.out.printf(Locale.ROOT, "  at defect threshold %.4f: defect recall %.4f, false-reject rate %.4f%n",
                    m.defectThreshold(), m.defectRecall(), m.falseRejectRate());
        }
        m.perClass().forEach((k, v) -> System.out.printf(Locale.ROOT,
                "  %-20s precision %.4f recall %.4f support %d%n", k, v.precision(), v.recall(), v.support()));
        System.out.println("  confusion (rows = true " + m.labels() + "):");
        for (int[] row : m.confusion()) {
            System.out.println("    " + java.util.Arrays.toString(row));
        }
        if (json != null) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", pkg.manifest().id());
            out.put("data", data.toString());
            out.put("count", m.count());
            out.put("skipped", o.skipped());
            out.put("accuracy", m.accuracy());
            out.put("balancedAccuracy", m.balancedAccuracy());
            out.put("perClass", m.perClass());
            out.put("labels", m.labels());
            out.put("confusion", m.confusion());
            out.put("defectRecall", Double.isNaN(m.defectRecall()) ? null : m.defectRecall());
            out.put("falseRejectRate", Double.isNaN(m.falseRejectRate()) ? null : m.falseRejectRate());
            out.put("defectThreshold", m.defectThreshold());
            out.put("auroc", o.auroc());
            AtomicFiles.write(json, ModelPackage.json().writeValueAsBytes(out));
        }
        return 0;
    }
}
