package dev.vigil.trainer.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.VigilException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The pure logic of {@code vigil benchmark --multitask}: the seeded KolektorSDD split and the summary's helpers. */
class MultiTaskBenchmarkTest {
    /**
     * A KolektorSDD-like set: 50 commutators of 8 images, 52 defective images (commutators 0-41 one each, 42-46 two
     * each), the file number giving the commutator as in the real set.
     */
    private static List<KolektorBenchmark.Item> items() {
        List<KolektorBenchmark.Item> out = new ArrayList<>();
        for (int part = 0; part < 50; part++) {
            int defects = part < 42 ? 1 : part < 47 ? 2 : 0;
            for (int j = 0; j < KolektorBenchmark.IMAGES_PER_PART; j++) {
                int n = part * KolektorBenchmark.IMAGES_PER_PART + j;
                out.add(new KolektorBenchmark.Item(Path.of(String.format("/k/%03d.jpg", n)), j < defects, null,
                        part));
            }
        }
        return out;
    }

    @Test
    void theSplitKeepsEveryImageAndCommutatorOnOneSideAndIsReproducible() {
        List<KolektorBenchmark.Item> items = items();
        for (long seed = 1000; seed < 1010; seed++) {
            MultiTaskBenchmark.Split s = MultiTaskBenchmark.kolektorSplit(items, 50, 0.6, seed);
            Set<Path> train = new HashSet<>();
            Set<Integer> trainParts = new HashSet<>();
            s.train().forEach(i -> {
                train.add(i.file());
                trainParts.add(i.part());
            });
            assertEquals(s.train().size(), train.size(), "no image twice in training");
            for (KolektorBenchmark.Item i : s.test()) {
                assertTrue(!train.contains(i.file()), i.file() + " on both sides");
                assertTrue(!trainParts.contains(i.part()), "commutator " + i.part() + " on both sides");
            }
            long trainDefects = s.train().stream().filter(KolektorBenchmark.Item::defective).count();
            long testDefects = s.test().stream().filter(KolektorBenchmark.Item::defective).count();
            // min(50, round(0.6 * 52)) = 31, one more when the last commutator taken has two
            assertTrue(trainDefects == 31 || trainDefects == 32, "train defects " + trainDefects);
            assertEquals(52, trainDefects + testDefects, "every defective image is used");
            assertEquals(50, s.train().size() - trainDefects, "k good images train");
            assertEquals(testDefects, s.test().size() - testDefects, "as many good test images as defective ones");

            MultiTaskBenchmark.Split again = MultiTaskBenchmark.kolektorSplit(items, 50, 0.6, seed);
            assertEquals(s.train(), again.train());
            assertEquals(s.test(), again.test());
        }
        assertNotEquals(MultiTaskBenchmark.kolektorSplit(items, 50, 0.6, 1000).train(),
                MultiTaskBenchmark.kolektorSplit(items, 50, 0.6, 1001).train(), "another seed, another split");
    }

    @Test
    void aSmallKCapsTheDefectsAndTheGoodImages() {
        MultiTaskBenchmark.Split s = MultiTaskBenchmark.kolektorSplit(items(), 10, 0.6, 7);
        long trainDefects = s.train().stream().filter(KolektorBenchmark.Item::defective).count();
        assertTrue(trainDefects == 10 || trainDefects == 11, "train defects " + trainDefects);
        assertEquals(10, s.train().size() - trainDefects);
        assertThrows(VigilException.class, () -> MultiTaskBenchmark.kolektorSplit(items(), 1, 0.6, 7),
                "one defective image cannot train and validate");
    }

    @Test
    void summaryHelpers() {
        assertEquals(2.0, MultiTaskBenchmark.median(new double[] {5, 1, 2}));
        assertEquals(2.5, MultiTaskBenchmark.median(new double[] {4, 1, 2, 3}));
        assertEquals(2.0, MultiTaskBenchmark.mean(new double[] {1, Double.NaN, 3}));
        assertEquals(Math.sqrt(2), MultiTaskBenchmark.sd(new double[] {1, 3}), 1e-12);
        MultiTaskBenchmark.Row v = new MultiTaskBenchmark.Row();
        v.acc = 0.9;
        v.ms = 3;
        v.trainSeconds = 10;
        MultiTaskBenchmark.Row p = new MultiTaskBenchmark.Row();
        p.productAcc = 1;
        p.ms = 2;
        p.trainSeconds = 5;
        MultiTaskBenchmark.Row s = MultiTaskBenchmark.separate(v, p);
        assertEquals(0.9, s.acc);
        assertEquals(1.0, s.productAcc);
        assertEquals(5.0, s.ms);
        assertEquals(15.0, s.trainSeconds);
    }
}
