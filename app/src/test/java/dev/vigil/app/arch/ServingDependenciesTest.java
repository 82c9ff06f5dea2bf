package dev.vigil.app.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The serving code depends on {@code vigil-core} (the package contract, preprocessing, image I/O, hashing, errors,
 * atomic writes), never on the trainer: only the command line ({@code Vigil}), the training jobs (which start
 * {@code vigil train} as a child process and evaluate candidates) and the benchmarks may use it. A serving class that
 * starts importing the trainer fails here, before it drags PyTorch into the inspection process.
 */
class ServingDependenciesTest {
    private static final Path SOURCES = Path.of("src/main/java/dev/vigil/app");
    private static final List<String> MAY_USE_TRAINER = List.of("Vigil.java", "training/", "bench/");
    private static final Pattern TRAINER = Pattern.compile("\\bdev\\.vigil\\.trainer\\.");

    @Test
    void servingClassesUseTheCoreModuleNotTheTrainer() throws IOException {
        assertTrue(Files.isDirectory(SOURCES), "run from the app module: " + SOURCES.toAbsolutePath());
        List<String> offenders;
        int checked;
        try (Stream<Path> files = Files.walk(SOURCES)) {
            List<Path> serving = files.filter(f -> f.toString().endsWith(".java"))
                    .filter(f -> MAY_USE_TRAINER.stream().noneMatch(
                            allowed -> SOURCES.relativize(f).toString().replace('\\', '/').startsWith(allowed)))
                    .toList();
            checked = serving.size();
            offenders = serving.stream().filter(f -> {
                try {
                    return TRAINER.matcher(Files.readString(f)).find();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).map(f -> SOURCES.relativize(f).toString()).sorted().toList();
        }
        assertTrue(checked > 50, "serving sources found: " + checked);
        assertEquals(List.of(), offenders, "serving classes that use the trainer");
    }
}
