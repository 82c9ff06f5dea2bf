package dev.vigil.trainer.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.VigilException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark's random draws: reproducible, disjoint, nested across k, different from draw to draw. */
class BenchmarkDrawTest {
    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void classes() throws IOException {
        data = tmp.resolve("data");
        for (String c : List.of("crazing", "scratches")) {
            Files.createDirectories(data.resolve(c));
            for (int i = 1; i <= 60; i++) {
                Files.writeString(data.resolve(c).resolve(c + "_" + i + ".jpg"), "x");
            }
        }
    }

    private static Set<String> names(Path dir) throws IOException {
        Set<String> out = new HashSet<>();
        try (Stream<Path> s = Files.walk(dir)) {
            s.filter(Files::isSymbolicLink).forEach(p -> out.add(p.getParent().getFileName() + "/" + p.getFileName()));
        }
        return out;
    }

    private Path draw(String name, int draw, int testCount, int k) throws IOException {
        Path test = tmp.resolve(name + "-test");
        Path train = tmp.resolve(name + "-train");
        TransferBenchmark.draw(data, draw, List.of(new TransferBenchmark.Selection(test, 0, testCount),
                new TransferBenchmark.Selection(train, testCount, k)));
        return tmp.resolve(name);
    }

    @Test
    void aDrawIsReproducibleDisjointAndNestedAcrossK() throws IOException {
        Path a = draw("a", 0, 20, 10);
        Path b = draw("b", 0, 20, 10);
        Path c = draw("c", 0, 20, 30);
        Set<String> trainA = names(Path.of(a + "-train"));
        Set<String> testA = names(Path.of(a + "-test"));
        assertEquals(20, trainA.size());
        assertEquals(40, testA.size());
        assertEquals(trainA, names(Path.of(b + "-train")), "the same draw selects the same images");
        assertEquals(testA, names(Path.of(c + "-test")), "the held-out images do not depend on k");
        assertTrue(names(Path.of(c + "-train")).containsAll(trainA), "k=10 is part of k=30 in the same draw");
        Set<String> overlap = new HashSet<>(trainA);
        overlap.retainAll(testA);
        assertEquals(Set.of(), overlap, "training and held-out images never overlap");
    }

    @Test
    void drawsDifferAndAreNotTheFirstNames() throws IOException {
        Set<String> d0 = names(Path.of(draw("d0", 0, 20, 10) + "-train"));
        Set<String> d1 = names(Path.of(draw("d1", 1, 20, 10) + "-train"));
        assertNotEquals(d0, d1);
        Set<String> firstNames = new HashSet<>();
        for (String c : List.of("crazing", "scratches")) {
            try (Stream<Path> s = Files.list(data.resolve(c))) {
                s.map(p -> c + "/" + p.getFileName()).sorted().skip(20).limit(10).forEach(firstNames::add);
            }
        }
        assertNotEquals(firstNames, d0);
    }

    @Test
    void aClassWithTooFewImagesIsAClearError() {
        VigilException e = assertThrows(VigilException.class, () -> draw("few", 0, 50, 20));
        assertTrue(e.getMessage().contains("has 60 images") && e.getMessage().contains("needs 70 per class"),
                e.getMessage());
    }

    @Test
    void kolektorSubsetsAreCappedPerClassNestedAndReproducible() {
        // 30 training images: indices 0..29, class 0 (defective) for the first 8, class 1 (ok) for the rest
        int[] labels = new int[40];
        for (int i = 8; i < labels.length; i++) {
            labels[i] = 1;
        }
        int[] train = java.util.stream.IntStream.range(0, 30).toArray();
        int[] five = KolektorBenchmark.subset(train, labels, 5, 7);
        int[] ten = KolektorBenchmark.subset(train, labels, 10, 7);
        assertEquals(5, java.util.Arrays.stream(five).filter(i -> labels[i] == 0).count());
        assertEquals(5, java.util.Arrays.stream(five).filter(i -> labels[i] == 1).count());
        assertEquals(8, java.util.Arrays.stream(ten).filter(i -> labels[i] == 0).count(),
                "a class with fewer than k keeps all of its images");
        assertEquals(10, java.util.Arrays.stream(ten).filter(i -> labels[i] == 1).count());
        Set<Integer> tenSet = new HashSet<>();
        java.util.Arrays.stream(ten).forEach(tenSet::add);
        assertTrue(java.util.Arrays.stream(five).allMatch(tenSet::contains), "k=5 is part of k=10 in the same draw");
        assertTrue(java.util.Arrays.stream(ten).allMatch(i -> i < 30), "only training images are drawn");
        assertEquals(java.util.Arrays.toString(five), java.util.Arrays.toString(KolektorBenchmark.subset(train, labels,
                5, 7)), "the same seed draws the same images");
        assertNotEquals(java.util.Arrays.toString(ten), java.util.Arrays.toString(KolektorBenchmark.subset(train,
                labels, 10, 8)), "another draw draws other images");
        assertEquals(30, KolektorBenchmark.subset(train, labels, 0, 7).length, "k <= 0 keeps every training image");
    }
}
