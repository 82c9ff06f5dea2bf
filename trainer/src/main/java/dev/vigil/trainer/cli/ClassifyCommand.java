package dev.vigil.trainer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.trainer.VigilException;
import dev.vigil.trainer.data.ImageIo;
import dev.vigil.trainer.eval.Metrics;
import dev.vigil.trainer.model.ModelPackage;
import dev.vigil.trainer.model.OrtClassifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vigil classify}: one JSON line per image. */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = "Classify images with a model package: one JSON line per image (label, probabilities, verdict).")
public final class ClassifyCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "PKG", description = "model package folder")
    Path model;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "image files")
    List<Path> images;

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        ModelPackage pkg = ModelPackage.open(model);
        ObjectMapper json = new ObjectMapper();
        int failed = 0;
        try (OrtClassifier clf = new OrtClassifier(pkg)) {
            List<String> labels = pkg.manifest().labels();
            for (Path img : images) {
                try {
                    if (!Files.isRegularFile(img)) {
                        throw new VigilException("image " + img + " does not exist or is not a file");
                    }
                    float[] p = clf.classify(ImageIo.read(img), img.toString());
                    Map<String, Object> line = new LinkedHashMap<>();
                    line.put("image", img.toString());
                    line.put("label", labels.get(Metrics.argmax(p)));
                    Map<String, Float> probs = new LinkedHashMap<>();
                    for (int i = 0; i < p.length; i++) {
                        probs.put(labels.get(i), p[i]);
                    }
                    line.put("probabilities", probs);
                    if (pkg.okIndex() >= 0) {
                        double defect = 1.0 - p[pkg.okIndex()];
                        line.put("defectProbability", defect);
                        line.put("verdict", defect >= pkg.defectThreshold() ? "defect" : "ok");
                    } else {
                        line.put("verdict", labels.get(Metrics.argmax(p)));
                    }
                    System.out.println(json.writeValueAsString(line));
                } catch (VigilException e) {
                    System.err.println("vigil classify: " + e.getMessage());
                    failed++;
                }
            }
        }
        return failed == 0 ? 0 : 1;
    }
}
