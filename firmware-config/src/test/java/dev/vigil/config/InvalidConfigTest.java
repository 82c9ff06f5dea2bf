package dev.vigil.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The corpus of broken configurations in {@code src/test/resources/invalid/}: each file says in {@code # expect:}
 * lines what must be reported (key path and rule); it must be refused with exactly that many problems, each expected
 * text in one of them.
 */
class InvalidConfigTest {
    private static final Path CORPUS = Path.of("src", "test", "resources", "invalid");

    @TestFactory
    Stream<DynamicTest> everyBrokenFileIsRefusedWithItsKeyPath() throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.list(CORPUS)) {
            files = s.filter(p -> p.toString().endsWith(".yml")).sorted().toList();
        }
        assertTrue(files.size() >= 25, "the corpus has " + files.size() + " files");
        assertTrue(files.stream().filter(InvalidConfigTest::several).count() >= 3, "a few with several problems");
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> {
            List<String> expected = Files.readAllLines(f).stream().filter(l -> l.startsWith("# expect: "))
                    .map(l -> l.substring("# expect: ".length())).toList();
            assertTrue(!expected.isEmpty(), f + " says what it expects");
            try {
                ConfigLoader.load(f);
                fail(f + " was accepted");
            } catch (ConfigException e) {
                assertEquals(expected.size(), e.problems().size(), "problems of " + f + ": " + e.problems());
                for (String x : expected) {
                    assertTrue(e.problems().stream().anyMatch(p -> p.contains(x)), "'" + x + "' in " + e.problems());
                }
                assertTrue(e.getMessage().contains(f.toString()), "the message names the file: " + e.getMessage());
            }
        }));
    }

    private static boolean several(Path f) {
        try {
            return Files.readAllLines(f).stream().filter(l -> l.startsWith("# expect: ")).count() > 1;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void theDefaultsAndTheExamplesAreValid() {
        assertEquals(List.of(), DeviceConfig.defaults().problems());
        for (String e : ConfigReference.EXAMPLES) {
            ConfigLoader.parse(ConfigReference.example(e), e);
        }
    }
}
