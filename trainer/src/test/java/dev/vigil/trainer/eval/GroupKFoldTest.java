package dev.vigil.trainer.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.VigilException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class GroupKFoldTest {
    private static final int SEEDS = 30;

    // ---- k folds ----

    @Test
    void noPartEverLandsInTwoFolds() {
        for (int seed = 1; seed <= SEEDS; seed++) {
            Data d = Data.random(seed, seed % 2 == 0);
            int k = 2 + seed % 5;
            int[] folds = GroupKFold.assign(d.labels, d.groups, k, seed);
            assertOneValuePerGroup(d.groups, folds, "seed " + seed);
            Set<Integer> used = new HashSet<>();
            for (int f : folds) {
                assertTrue(f >= 0 && f < k, "seed " + seed + ": fold " + f);
                used.add(f);
            }
            assertEquals(k, used.size(), "seed " + seed + ": every fold has images");
        }
    }

    @Test
    void everyFoldHoldsEveryClassWhenTheFoldsAreFeasible() {
        for (int seed = 1; seed <= SEEDS; seed++) {
            Data d = Data.random(seed, false);
            int k = GroupKFold.feasibleFolds(d.labels, d.groups, 5);
            assertTrue(k >= 3, "every class has at least 3 parts here, seed " + seed);
            int[] folds = GroupKFold.assign(d.labels, d.groups, k, seed);
            boolean[][] has = new boolean[k][d.classes];
            for (int i = 0; i < folds.length; i++) {
                has[folds[i]][d.labels[i]] = true;
            }
            for (int f = 0; f < k; f++) {
                for (int c = 0; c < d.classes; c++) {
                    assertTrue(has[f][c], "seed " + seed + ": fold " + f + " lacks class " + c);
                }
            }
        }
    }

    @Test
    void eachClassIsSpreadOverTheFoldsWithinOnePartOfEvenAndSoAreTheFoldSizes() {
        for (int seed = 1; seed <= SEEDS; seed++) {
            Data d = Data.random(seed, false);
            int k = GroupKFold.feasibleFolds(d.labels, d.groups, 4);
            int[] folds = GroupKFold.assign(d.labels, d.groups, k, seed);
            int[][] counts = new int[k][d.classes];
            int[] sizes = new int[k];
            for (int i = 0; i < folds.length; i++) {
                counts[folds[i]][d.labels[i]]++;
                sizes[folds[i]]++;
            }
            int slack = 0;
            for (int c = 0; c < d.classes; c++) {
                int min = Integer.MAX_VALUE;
                int max = 0;
                for (int f = 0; f < k; f++) {
                    min = Math.min(min, counts[f][c]);
                    max = Math.max(max, counts[f][c]);
                }
                assertTrue(max - min <= d.largestPart[c], "seed " + seed + " class " + c + ": " + min + ".." + max
                        + " with parts of up to " + d.largestPart[c]);
                slack += d.largestPart[c];
            }
            int min = Arrays.stream(sizes).min().getAsInt();
            int max = Arrays.stream(sizes).max().getAsInt();
            assertTrue(max - min <= slack, "seed " + seed + ": fold sizes " + Arrays.toString(sizes));
        }
    }

    @Test
    void theSameSeedGivesTheSameFoldsAndAnotherSeedOthers() {
        Data d = Data.random(11, true);
        int[] a = GroupKFold.assign(d.labels, d.groups, 4, 99);
        assertArrayEquals(a, GroupKFold.assign(d.labels, d.groups, 4, 99));
        boolean differs = false;
        for (long seed = 100; seed < 105; seed++) {
            differs |= !Arrays.equals(a, GroupKFold.assign(d.labels, d.groups, 4, seed));
        }
        assertTrue(differs);
    }

    @Test
    void feasibleFoldsIsTheFewestPartsOfAnyClassAndAssignDoesNotReduceKItself() {
        // class 0: parts 10, 11, 12, 13; class 2: parts 20, 21; class 1 has no images.
        int[] labels = {0, 0, 0, 0, 0, 2, 2, 2};
        int[] groups = {10, 10, 11, 12, 13, 20, 21, 21};
        assertEquals(2, GroupKFold.feasibleFolds(labels, groups, 5));
        assertEquals(2, GroupKFold.feasibleFolds(labels, groups, 2));
        int[] folds = GroupKFold.assign(labels, groups, 5, 1);
        assertEquals(5, Arrays.stream(folds).distinct().count(), "5 folds as asked: " + Arrays.toString(folds));
        assertEquals(1, GroupKFold.feasibleFolds(new int[] {0, 0, 1}, new int[] {1, 1, 2}, 5));
    }

    @Test
    void moreFoldsThanPartsOrFewerThanTwoAreRefused() {
        VigilException e = assertThrows(VigilException.class,
                () -> GroupKFold.assign(new int[] {0, 1, 0}, new int[] {1, 2, 1}, 3, 1));
        assertTrue(e.getMessage().contains("3 folds need at least 3 parts, but the 3 images show only 2; use at most 2"),
                e.getMessage());
        assertThrows(VigilException.class, () -> GroupKFold.assign(new int[] {0, 1}, new int[] {1, 2}, 1, 1));
    }

    @Test
    void trainAndValidationOfAFoldPartitionTheImagesInOrder() {
        int[] folds = {0, 1, 2, 1, 0, 2, 2};
        List<int[]> tv = GroupKFold.trainValidation(folds, 2);
        assertArrayEquals(new int[] {0, 1, 3, 4}, tv.get(0));
        assertArrayEquals(new int[] {2, 5, 6}, tv.get(1));
        assertThrows(IllegalArgumentException.class, () -> GroupKFold.trainValidation(folds, 3));
    }

    // ---- hold-out ----

    @Test
    void holdOutNeverSplitsAPartAndPutsEveryClassOnBothSidesAtAboutTheFraction() {
        for (double fraction : new double[] {0.1, 0.2, 0.5}) {
            for (int seed = 1; seed <= SEEDS; seed++) {
                boolean mixed = seed % 3 == 0;
                Data d = Data.random(seed, mixed);
                String what = "fraction " + fraction + " seed " + seed;
                int[][] split = GroupKFold.holdOut(d.labels, d.groups, fraction, seed);
                int[] side = new int[d.labels.length];
                Arrays.fill(side, -1);
                for (int s = 0; s < 2; s++) {
                    for (int i : split[s]) {
                        assertEquals(-1, side[i], what + ": image " + i + " on both sides");
                        side[i] = s;
                    }
                }
                assertFalse(Arrays.stream(side).anyMatch(s -> s < 0), what + ": every image placed");
                assertOneValuePerGroup(d.groups, side, what);
                int[][] counts = new int[2][d.classes];
                for (int i = 0; i < side.length; i++) {
                    counts[side[i]][d.labels[i]]++;
                }
                for (int c = 0; c < d.classes; c++) {
                    assertTrue(counts[0][c] > 0 && counts[1][c] > 0, what + ": class " + c + " on both sides");
                    if (!mixed) {
                        double target = fraction * (counts[0][c] + counts[1][c]);
                        assertTrue(Math.abs(counts[1][c] - target) <= d.largestPart[c], what + ": class " + c
                                + " has " + counts[1][c] + " in validation for a target of " + target);
                    }
                }
            }
        }
    }

    @Test
    void holdOutWithOneImagePerPartIsAnOrdinaryStratifiedSplit() {
        int[] labels = new int[30];
        for (int i = 0; i < 30; i++) {
            labels[i] = i % 3;
        }
        int[][] split = GroupKFold.holdOut(labels, Grouping.singletons(30), 0.2, 5);
        int[] val = new int[3];
        for (int i : split[1]) {
            val[labels[i]]++;
        }
        assertArrayEquals(new int[] {2, 2, 2}, val);
        assertEquals(24, split[0].length);
    }

    @Test
    void holdOutIsTheSameForTheSameSeed() {
        Data d = Data.random(4, true);
        int[][] a = GroupKFold.holdOut(d.labels, d.groups, 0.25, 7);
        int[][] b = GroupKFold.holdOut(d.labels, d.groups, 0.25, 7);
        assertArrayEquals(a[0], b[0]);
        assertArrayEquals(a[1], b[1]);
    }

    @Test
    void aClassWhoseImagesAllShowOnePartCannotBeValidated() {
        int[] labels = {0, 0, 0, 1, 1, 1};
        int[] groups = {1, 2, 3, 4, 4, 4};
        VigilException e = assertThrows(VigilException.class,
                () -> GroupKFold.holdOut(labels, List.of("ok", "scratch"), groups, 0.2, 1));
        String m = e.getMessage();
        assertTrue(m.contains("class 'scratch': all its 3 images belong to one part"), m);
        assertTrue(m.contains("validation needs images of at least two parts") && m.contains("--group-by"), m);
        VigilException unnamed = assertThrows(VigilException.class,
                () -> GroupKFold.holdOut(labels, groups, 0.2, 1));
        assertTrue(unnamed.getMessage().startsWith("class 1: "), unnamed.getMessage());
    }

    @Test
    void aFractionOutsideZeroToOneIsRefused() {
        VigilException e = assertThrows(VigilException.class,
                () -> GroupKFold.holdOut(new int[] {0, 0}, new int[] {1, 2}, 1.0, 1));
        assertTrue(e.getMessage().contains("found 1.0"), e.getMessage());
    }

    // ---- data ----

    private static void assertOneValuePerGroup(int[] groups, int[] values, String what) {
        Map<Integer, Integer> seen = new HashMap<>();
        for (int i = 0; i < groups.length; i++) {
            Integer before = seen.putIfAbsent(groups[i], values[i]);
            assertTrue(before == null || before == values[i], what + ": part " + groups[i] + " is split");
        }
    }

    /** Random images of 2–4 classes, 3–27 parts per class of 1–5 images each, in shuffled order. */
    private record Data(int[] labels, int[] groups, int classes, int[] largestPart) {
        static Data random(long seed, boolean mixed) {
            Random rnd = new Random(seed * 31 + 7);
            int classes = 2 + rnd.nextInt(3);
            List<int[]> images = new ArrayList<>(); // {label, group}
            int[] largest = new int[classes];
            int part = 0;
            for (int c = 0; c < classes; c++) {
                int parts = 3 + rnd.nextInt(25);
                for (int p = 0; p < parts; p++, part++) {
                    int size = 1 + rnd.nextInt(5);
                    largest[c] = Math.max(largest[c], size);
                    int id = part * 7919 - 500; // arbitrary, sometimes negative ids
                    for (int i = 0; i < size; i++) {
                        // a mixed part now and then also shows an image of another class
                        int label = mixed && i > 0 && rnd.nextInt(8) == 0 ? rnd.nextInt(classes) : c;
                        images.add(new int[] {label, id});
                    }
                }
            }
            Collections.shuffle(images, rnd);
            int[] labels = images.stream().mapToInt(im -> im[0]).toArray();
            int[] groups = images.stream().mapToInt(im -> im[1]).toArray();
            return new Data(labels, groups, classes, largest);
        }
    }
}
