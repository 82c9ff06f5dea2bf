package dev.vigil.trainer.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.trainer.eval.GroupKFold;
import dev.vigil.trainer.eval.RecallBound;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The learning curve's parts, figures and "needs more examples" rule, without training (no data needed). */
class LearningCurveTest {
    private static final List<String> CLASSES = List.of("defect", "ok");

    /** 90 images: 30 defects in groups of 1..3, 60 good parts in groups of 2; class = stratum. */
    private record Data(int[] labels, int[] groups) {
        static Data make() {
            List<Integer> labels = new ArrayList<>();
            List<Integer> groups = new ArrayList<>();
            int g = 0;
            int sizeCycle = 0;
            while (labels.size() < 30) {
                int size = Math.min(1 + sizeCycle++ % 3, 30 - labels.size());
                for (int i = 0; i < size; i++) {
                    labels.add(0);
                    groups.add(g);
                }
                g++;
            }
            for (int i = 0; i < 60; i++) {
                labels.add(1);
                groups.add(g + i / 2);
            }
            return new Data(labels.stream().mapToInt(Integer::intValue).toArray(),
                    groups.stream().mapToInt(Integer::intValue).toArray());
        }

        List<int[]> foldTrain(int folds) {
            int[] foldOf = GroupKFold.assign(labels, groups, folds, 42);
            List<int[]> out = new ArrayList<>();
            for (int f = 0; f < folds; f++) {
                out.add(GroupKFold.trainValidation(foldOf, f).get(0));
            }
            return out;
        }
    }

    @Test
    void partsAreNestedClassStratifiedKeepEveryGroupWholeAndFollowTheSeed() {
        Data d = Data.make();
        List<int[]> train = d.foldTrain(3);
        LearningCurve.Plan plan = LearningCurve.plan(train, d.labels(), d.labels(), CLASSES, d.groups(), 7);
        assertArrayEquals(LearningCurve.FRACTIONS, plan.fractions(), "every fraction fits 20 defects a fold");
        assertTrue(plan.skipped().isEmpty(), plan.skipped().toString());
        for (int f = 0; f < train.size(); f++) {
            Set<Integer> whole = set(train.get(f));
            Set<Integer> previous = new HashSet<>();
            for (int p = 0; p < plan.fractions().length; p++) {
                int[] part = plan.parts()[p][f];
                Set<Integer> s = set(part);
                assertTrue(whole.containsAll(s), "a part holds only the fold's training images");
                assertTrue(s.containsAll(previous), "fold " + f + ": the " + plan.fractions()[p] + " part holds the"
                        + " smaller one");
                assertTrue(s.size() > previous.size() && s.size() < whole.size());
                for (int c = 0; c < CLASSES.size(); c++) {
                    final int cls = c;
                    long inPart = Arrays.stream(part).filter(i -> d.labels()[i] == cls).count();
                    long inFold = Arrays.stream(train.get(f)).filter(i -> d.labels()[i] == cls).count();
                    double want = plan.fractions()[p] * inFold;
                    // at least its share of the class, and less than one more group (3 images at most) above it
                    assertTrue(inPart >= want && inPart < want + 3, "fold " + f + " class " + c + " fraction "
                            + plan.fractions()[p] + ": " + inPart + " of " + inFold);
                }
                for (int i : part) {
                    for (int j : train.get(f)) {
                        if (d.groups()[j] == d.groups()[i]) {
                            assertTrue(s.contains(j), "group " + d.groups()[i] + " is cut");
                        }
                    }
                }
                previous = s;
            }
        }
        LearningCurve.Plan again = LearningCurve.plan(train, d.labels(), d.labels(), CLASSES, d.groups(), 7);
        LearningCurve.Plan other = LearningCurve.plan(train, d.labels(), d.labels(), CLASSES, d.groups(), 8);
        boolean differs = false;
        for (int p = 0; p < plan.fractions().length; p++) {
            for (int f = 0; f < train.size(); f++) {
                assertArrayEquals(plan.parts()[p][f], again.parts()[p][f], "the same seed gives the same parts");
                differs |= !Arrays.equals(plan.parts()[p][f], other.parts()[p][f]);
            }
        }
        assertTrue(differs, "another seed draws other parts");
    }

    @Test
    void aFractionWhosePartWouldHoldFewerThanTwoImagesOfAClassIsLeftOutWithTheReason() {
        // 5 defects (singletons) and 40 good parts: 2 folds train on 2 or 3 defects each
        int[] labels = new int[45];
        int[] groups = new int[45];
        for (int i = 0; i < 45; i++) {
            labels[i] = i < 5 ? 0 : 1;
            groups[i] = i;
        }
        Data d = new Data(labels, groups);
        LearningCurve.Plan plan = LearningCurve.plan(d.foldTrain(2), labels, labels, CLASSES, groups, 42);
        assertFalse(Arrays.stream(plan.fractions()).anyMatch(f -> f == 0.25), Arrays.toString(plan.fractions()));
        assertTrue(plan.skipped().get(0).startsWith("25%: fold "), plan.skipped().toString());
        assertTrue(plan.skipped().get(0).contains("of 'defect' (fewer than 2)"), plan.skipped().toString());
        assertEquals(plan.fractions().length, plan.parts().length);
    }

    @Test
    void theFullPointsFiguresAreThoseOfTheOutOfFoldProbabilities() {
        int[] labels = {0, 0, 0, 0, 1, 1, 1, 1};
        // defect probability (class 0) per image; ok = class 1
        float[] pDefect = {0.9f, 0.8f, 0.6f, 0.3f, 0.1f, 0.2f, 0.7f, 0.4f};
        float[][] probs = new float[labels.length][];
        for (int i = 0; i < labels.length; i++) {
            probs[i] = new float[] {pDefect[i], 1 - pDefect[i]};
        }
        LearningCurve.Point p = LearningCurve.point(1.0, CLASSES, labels, probs, 1, 0.35,
                new int[][] {{2, 2}, {3, 1}});
        assertEquals(4.0, p.trainImages());
        assertEquals(Map.of("defect", 2.5, "ok", 1.5), p.perClassTrain());
        // argmax: defects 0,1,2 right, ok 4,5,7 right
        assertEquals(6 / 8.0, p.accuracy(), 1e-12);
        assertEquals(RecallBound.of(3, 4), p.perClass().get("defect"));
        assertEquals(RecallBound.of(3, 4), p.perClass().get("ok"));
        // at the threshold 0.35 the fourth defect (0.3) is still missed
        assertEquals(RecallBound.of(3, 4), p.defectRecall());
        LearningCurve.Point lower = LearningCurve.point(1.0, CLASSES, labels, probs, 1, 0.25,
                new int[][] {{2, 2}, {3, 1}});
        assertEquals(4, lower.defectRecall().caught());
    }

    private static LearningCurve.Point point(double fraction, double defectTrain, int defectCaught,
            int okCaught) {
        Map<String, RecallBound> per = new LinkedHashMap<>();
        per.put("defect", RecallBound.of(defectCaught, 40));
        per.put("ok", RecallBound.of(okCaught, 40));
        return new LearningCurve.Point(fraction, defectTrain + 20, Map.of("defect", defectTrain, "ok", 20.0), 80,
                0, 0, RecallBound.of(defectCaught, 40), per);
    }

    @Test
    void theClassWithTheLowestStillRisingRecallIsNamedWithAStraightLineEstimate() {
        // defect: 28 -> 32 of 40 caught as its training images go 15 -> 20 a fold; ok stays at 39 of 40
        List<LearningCurve.Point> pts = List.of(point(0.5, 10, 24, 38), point(0.75, 15, 28, 39),
                point(1.0, 20, 32, 39));
        LearningCurve.Suggestion s = LearningCurve.suggest(pts, Map.of("defect", 40, "ok", 40), 0.95);
        assertEquals("defect", s.className());
        assertEquals(40, s.currentImages());
        // slope 0.1 recall / 5 images = 0.02; 0.95 - 0.80 = 0.15 -> 7.5 more training images a fold: 27.5 of 20
        // now, times 40 labelled / 20 a fold = 55
        assertEquals(55, s.suggestedImages());
        assertTrue(s.reason().startsWith("'defect' has the lowest recall (32 of 40, 0.80;"), s.reason());
        assertTrue(s.reason().contains("still rising (0.70 -> 0.80 from 75% to 100%"), s.reason());
    }

    @Test
    void aFlatLowestClassIsNamedWithoutAnEstimateAndAllAboveTargetNamesNone() {
        List<LearningCurve.Point> flat = List.of(point(0.75, 15, 32, 38), point(1.0, 20, 32, 39));
        LearningCurve.Suggestion s = LearningCurve.suggest(flat, Map.of("defect", 40, "ok", 40), 0.95);
        assertEquals("defect", s.className());
        assertNull(s.suggestedImages());
        assertTrue(s.reason().contains("did not rise"), s.reason());

        List<LearningCurve.Point> done = List.of(point(0.75, 15, 38, 39), point(1.0, 20, 40, 40));
        LearningCurve.Suggestion none = LearningCurve.suggest(done, Map.of("defect", 40, "ok", 40), 0.95);
        assertNull(none.className());
        assertNull(none.suggestedImages());
        assertTrue(none.reason().startsWith("every class reaches the 0.95 target"), none.reason());

        LearningCurve.Suggestion one = LearningCurve.suggest(List.of(point(1.0, 20, 30, 30)), Map.of(), 0.95);
        assertNull(one.className());
        assertTrue(one.reason().startsWith("only one point"), one.reason());
    }

    private static Set<Integer> set(int[] a) {
        Set<Integer> s = new HashSet<>();
        for (int x : a) {
            s.add(x);
        }
        return s;
    }
}
