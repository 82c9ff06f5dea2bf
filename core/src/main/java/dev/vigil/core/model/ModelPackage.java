package dev.vigil.core.model;


import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.vigil.core.VigilException;
import dev.vigil.core.image.ColorOrder;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.Hashing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A model package on disk: {@code model.onnx}, {@code manifest.json}, {@code report.json}. {@link #open(Path)}
 * verifies it: every file must match the hash the manifest records, and the manifest must be one this version can
 * honour. A package that fails is refused with the reason.
 */
public record ModelPackage(Path dir, Manifest manifest) {
    public static final String MODEL = "model.onnx";
    public static final String MANIFEST = "manifest.json";
    public static final String REPORT = "report.json";

    public static ObjectMapper json() {
        return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    }

    public static ModelPackage open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new VigilException("model package " + dir + " does not exist or is not a folder; give the folder"
                    + " written by 'vigil train --out'");
        }
        Path manifestFile = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(manifestFile)) {
            throw new VigilException("model package " + dir + " has no " + MANIFEST + "; it is not a complete"
                    + " package: train it again");
        }
        Manifest m;
        try {
            m = json().readValue(manifestFile.toFile(), Manifest.class);
        } catch (IOException e) {
            throw new VigilException("cannot read " + manifestFile + ": " + e.getMessage().lines().findFirst()
                    .orElse("") + "; the package is damaged: train it again");
        }
        if (m.schemaVersion() < 1 || m.schemaVersion() > Manifest.SCHEMA_VERSION) {
            throw new VigilException(manifestFile + " has schemaVersion " + m.schemaVersion()
                    + "; this Vigil reads at most " + Manifest.SCHEMA_VERSION + ": upgrade Vigil to use this package");
        }
        if (m.labels() == null || m.labels().size() < 2) {
            throw new VigilException(manifestFile + ": labels must list at least two classes");
        }
        if (m.okLabel() != null && !m.labels().contains(m.okLabel())) {
            throw new VigilException(manifestFile + ": okLabel '" + m.okLabel() + "' is not one of " + m.labels());
        }
        if (m.input() == null || m.files() == null || !MODEL.equals(m.files().keySet().stream()
                .filter(MODEL::equals).findFirst().orElse(null))) {
            throw new VigilException(manifestFile + ": missing input description or file hashes; the package is"
                    + " damaged: train it again");
        }
        for (Map.Entry<String, String> f : m.files().entrySet()) {
            Path file = dir.resolve(f.getKey()).normalize();
            if (!file.startsWith(dir.normalize()) || !Files.isRegularFile(file)) {
                throw new VigilException("model package " + dir + " is missing " + f.getKey()
                        + " that its manifest lists; the package is incomplete: copy it again or train it again");
            }
            String sha;
            try {
                sha = Hashing.sha256(file);
            } catch (IOException e) {
                throw new VigilException("cannot read " + file + ": " + e.getMessage());
            }
            if (!sha.equalsIgnoreCase(f.getValue())) {
                throw new VigilException(file + " has SHA-256 " + sha + " but the manifest says " + f.getValue()
                        + "; the package was modified or damaged: refusing it. Copy it again or train it again");
            }
        }
        if (!m.files().get(MODEL).equalsIgnoreCase(m.modelSha256())) {
            throw new VigilException(manifestFile + ": modelSha256 disagrees with files[model.onnx]; the package is"
                    + " damaged: train it again");
        }
        return new ModelPackage(dir, m);
    }

    public Path modelFile() {
        return dir.resolve(MODEL);
    }

    public Preprocessing preprocessing() {
        Manifest.Input in = manifest.input();
        return new Preprocessing(in.width(), in.height(), ColorOrder.valueOf(in.colorOrder()), in.scale(), in.mean(),
                in.std(), in.fit() == null ? Preprocessing.Fit.STRETCH
                        : Preprocessing.Fit.valueOf(in.fit().toUpperCase(java.util.Locale.ROOT)));
    }

    /** The name of the defect-map output of {@code model.onnx}, or null when the model has none. */
    /** The output of standardised features for the drift watch (docs/drift.md); null when the model has none. */
    public String driftTensor() {
        return manifest.output() == null || manifest.output().drift() == null ? null
                : manifest.output().drift().tensor();
    }

    public String defectMapTensor() {
        return manifest.output() == null ? null : manifest.output().defectMap();
    }

    /**
     * Checks that {@code model.onnx} has the outputs the manifest names ({@code outputNames}: what the runtime reports):
     * a package that promises a defect map its model lacks is refused here, not at the first frame.
     */
    public void requireOutputs(java.util.Collection<String> outputNames) {
        String map = defectMapTensor();
        if (map != null && !outputNames.contains(map)) {
            throw new VigilException("model package " + dir + ": manifest.json names the defect map output '" + map
                    + "' but model.onnx has only " + outputNames + "; the package is damaged: train it again");
        }
        String drift = driftTensor();
        if (drift != null && !outputNames.contains(drift)) {
            throw new VigilException("model package " + dir + ": manifest.json names the drift features output '"
                    + drift + "' but model.onnx has only " + outputNames + "; the package is damaged: train it again");
        }
        String probs = manifest.output() == null ? null : manifest.output().tensor();
        if ((map != null || drift != null) && (probs == null || !outputNames.contains(probs))) {
            throw new VigilException("model package " + dir + ": manifest.json names the probabilities output '"
                    + probs + "' but model.onnx has only " + outputNames + "; the package is damaged: train it again");
        }
    }

    public int okIndex() {
        return manifest.okLabel() == null ? -1 : manifest.labels().indexOf(manifest.okLabel());
    }

    public double defectThreshold() {
        return manifest.operatingPoint() == null ? 0.5 : manifest.operatingPoint().defectThreshold();
    }
}
