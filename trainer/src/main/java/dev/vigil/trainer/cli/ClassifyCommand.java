package dev.vigil.trainer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.core.VigilException;
import dev.vigil.core.image.ImageIo;
import dev.vigil.trainer.eval.Metrics;
import dev.vigil.core.model.DefectMap;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.model.OrtClassifier;
import dev.vigil.core.AtomicFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.opencv.core.Mat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vigil classify}: one JSON line per image. With a package that has a defect map, each line also says where
 * the defect is ({@code peak}, {@code region} in the image's pixels); {@code --heatmap DIR} writes the map over each
 * image as {@code DIR/<image name>.heatmap.png}.
 */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = "Classify images with a model package: one JSON line per image (label, probabilities, verdict;"
                + " peak and region when the model has a defect map).")
public final class ClassifyCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "PKG", description = "model package folder")
    Path model;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "image files")
    List<Path> images;

    @Option(names = "--heatmap", paramLabel = "OUT_DIR", description = "write each image with the model's defect map"
            + " over it (peak boxed) to OUT_DIR/<image name>.heatmap.png; needs a model with a defect map")
    Path heatmap;

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ModelPackage pkg = ModelPackage.open(model);
        if (heatmap != null) {
            checkHeatmapRequest(pkg);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ObjectMapper json = new ObjectMapper();
        int failed = 0;
        try (OrtClassifier clf = new OrtClassifier(pkg)) {
            List<String> labels = pkg.manifest().labels();
            for (Path img : images) {
                try {
                    if (!Files.isRegularFile(img)) {
                        throw new VigilException("image " + img + " does not exist or is not a file");
                    }
                    Mat bgr = ImageIo.decode(ImageIo.read(img), "image " + img);
                    Map<String, Object> line;
                    try {
                        OrtClassifier.Classification c = clf.classify(bgr);
                        line = line(img, c.probabilities(), labels, pkg);
                        if (!c.heads().isEmpty()) {
                            line.put("attributes", attributes(c.heads(), pkg));
                        }
                        DefectMap map = c.defectMap();
                        if (map != null) {
                            DefectMap.Peak peak = map.peak();
                            Map<String, Object> at = new LinkedHashMap<>();
                            at.put("x", peak.x());
                            at.put("y", peak.y());
                            at.put("score", peak.score());
                            line.put("peak", at);
                            line.put("region", peak.region());
                        }
                        if (heatmap != null) {
                            Path file = heatmap.resolve(img.getFileName() + ".heatmap.png");
                            AtomicFiles.write(file, map.overlayPng(bgr));
                            line.put("heatmap", file.toString());
                        }
                    } finally {
                        bgr.release();
                    }
                    out.println(json.writeValueAsString(line));
                    out.flush();
                } catch (VigilException | IOException e) {
                    err.println("vigil classify: " + e.getMessage());
                    err.flush();
                    failed++;
                }
            }
        }
        return failed == 0 ? 0 : 1;
    }

    /** Everything that would make --heatmap fail for every image is refused before anything is written. */
    private void checkHeatmapRequest(ModelPackage pkg) {
        if (pkg.defectMapTensor() == null) {
            throw new VigilException("model " + pkg.manifest().id() + " (" + model + ") has no defect map: retrain it"
                    + " with this Vigil version to use --heatmap");
        }
        Map<String, Path> seen = new HashMap<>();
        for (Path img : images) {
            Path other = seen.put(img.getFileName().toString(), img);
            if (other != null && !other.equals(img)) {
                throw new VigilException("--heatmap: " + other + " and " + img + " would both be written to "
                        + heatmap.resolve(img.getFileName() + ".heatmap.png") + "; classify them in separate runs"
                        + " with different OUT_DIRs");
            }
        }
        if (Files.exists(heatmap) && !Files.isDirectory(heatmap)) {
            throw new VigilException("--heatmap " + heatmap + " is a file; give a folder (it is created if missing)");
        }
    }

    /** A multi-task model's other heads: per head, its label, that label's probability and every probability. */
    private static Map<String, Object> attributes(Map<String, float[]> heads, ModelPackage pkg) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (var h : pkg.manifest().output().otherHeads()) {
            float[] p = heads.get(h.name());
            int best = Metrics.argmax(p);
            Map<String, Float> probs = new LinkedHashMap<>();
            for (int i = 0; i < p.length; i++) {
                probs.put(h.labels().get(i), p[i]);
            }
            Map<String, Object> a = new LinkedHashMap<>();
            a.put("label", h.labels().get(best));
            a.put("confidence", p[best]);
            a.put("probabilities", probs);
            out.put(h.name(), a);
        }
        return out;
    }

    private static Map<String, Object> line(Path img, float[] p, List<String> labels, ModelPackage pkg) {
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
        return line;
    }
}
