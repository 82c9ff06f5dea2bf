package dev.vigil.trainer;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The real backbones and datasets of {@code ../shared} (or {@code -Dvigil.shared=DIR}). Without them a test skips
 * with the reason; under CI ({@code CI=true}) it fails instead, because CI must test the real thing.
 */
public final class SharedAssets {
    private SharedAssets() {}

    public static Path root() {
        Path p = Path.of(System.getProperty("vigil.shared", "../shared")).toAbsolutePath().normalize();
        require(Files.isDirectory(p.resolve("models")) && Files.isDirectory(p.resolve("datasets")),
                "shared assets not found at " + p + " (set -Dvigil.shared=DIR)");
        return p;
    }

    public static Path squeezenet() {
        return file("models/squeezenet1.1-fp16.onnx");
    }

    public static Path mobilenet() {
        return file("models/mobilenetv2-12-int8.onnx");
    }

    public static Path neu() {
        return file("datasets/neu-surface-defects");
    }

    public static Path kolektor() {
        return file("datasets/kolektor-sdd");
    }

    public static Path casting() {
        return file("datasets/casting-impellers");
    }

    private static Path file(String rel) {
        Path p = root().resolve(rel);
        require(Files.exists(p), "shared asset " + p + " is missing");
        return p;
    }

    private static void require(boolean ok, String why) {
        if (ok) {
            return;
        }
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(why + "; CI requires the shared assets");
        }
        assumeTrue(false, "SKIPPED: " + why);
    }

    /** Links images [from, from+count) of each class folder of {@code src} into {@code dst} (sorted by name). */
    public static Path subset(Path src, Path dst, int from, int count) throws IOException {
        List<Path> classes;
        try (Stream<Path> s = Files.list(src)) {
            classes = s.filter(Files::isDirectory).sorted().toList();
        }
        for (Path c : classes) {
            List<Path> imgs;
            try (Stream<Path> s = Files.list(c)) {
                imgs = s.sorted().toList();
            }
            Path d = Files.createDirectories(dst.resolve(c.getFileName()));
            for (Path img : imgs.subList(from, Math.min(imgs.size(), from + count))) {
                Files.createSymbolicLink(d.resolve(img.getFileName()), img);
            }
        }
        return dst;
    }
}
