package dev.vigil.trainer.model;

import dev.vigil.core.model.Manifest;
import dev.vigil.core.model.ModelPackage;

import dev.vigil.core.VigilException;
import dev.vigil.core.AtomicFiles;
import dev.vigil.core.Hashing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.function.BiFunction;
import java.util.stream.Stream;

/**
 * Writes a model package atomically: everything goes into a temporary sibling folder that is renamed into place, so
 * a crash never leaves half a package, and a package is never written over a non-empty folder. Every exporter
 * (transfer-learning, anomaly) writes through here.
 */
public final class PackageWriter {
    private PackageWriter() {}

    /** A package id: {@code vigil-<UTC time>-<first 8 hex of the model's SHA-256>}. */
    public static String id(Instant now, String modelSha) {
        return "vigil-" + DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(now)
                + "-" + modelSha.substring(0, 8);
    }

    /** Refuses an {@code out} folder that exists and is not empty (check it before any expensive work). */
    public static void requireEmpty(Path out) throws IOException {
        if (Files.exists(out)) {
            try (Stream<Path> s = Files.list(out)) {
                if (s.findAny().isPresent()) {
                    throw new VigilException("--out " + out + " is not empty; choose a new folder (a package is never"
                            + " written over another one)");
                }
            }
        }
    }

    /**
     * Writes {@code model.onnx}, {@code report.json} and the manifest made from their SHA-256s, then opens (and so
     * verifies) the package.
     *
     * @param manifest from the model's and the report's SHA-256
     */
    public static ModelPackage write(Path out, byte[] model, Object report,
            BiFunction<String, String, Manifest> manifest) throws IOException {
        requireEmpty(out);
        Path abs = out.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        Path tmp = Files.createTempDirectory(abs.getParent(), "." + abs.getFileName() + ".tmp-");
        try {
            // every file forced, then the folder renamed into place and its parent forced: after a power cut the
            // package is there complete or not at all
            AtomicFiles.writeForced(tmp.resolve(ModelPackage.MODEL), model);
            byte[] reportBytes = ModelPackage.json().writeValueAsBytes(report);
            AtomicFiles.writeForced(tmp.resolve(ModelPackage.REPORT), reportBytes);
            Manifest m = manifest.apply(Hashing.sha256(model), Hashing.sha256(reportBytes));
            AtomicFiles.writeForced(tmp.resolve(ModelPackage.MANIFEST), ModelPackage.json().writeValueAsBytes(m));
            if (Files.exists(abs)) {
                Files.delete(abs);
            }
            AtomicFiles.commit(tmp, abs);
            return ModelPackage.open(abs);
        } finally {
            if (Files.exists(tmp)) {
                try (Stream<Path> s = Files.walk(tmp)) {
                    for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        }
    }
}
