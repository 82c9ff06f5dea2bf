package dev.vigil.trainer.train;

import dev.vigil.trainer.eval.Metrics;
import dev.vigil.trainer.eval.RecallBound;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * "Have I labelled enough?": how the out-of-fold figures grow with the number of labelled training images, and which
 * class the curve says needs more examples.
 *
 * <p>Each cross-validation fold trains again on nested, class-stratified parts ({@link #FRACTIONS}) of its own
 * training images, for the same number of epochs as the fold itself, and scores the same held-out images; the fold's
 * full training is the 100% point. Over all folds every labelled image is scored once per point, so each point has
 * the figures the report gives for the package itself ({@code validation}), and the 100% point <em>is</em> those
 * figures. Parts are drawn per class from whole groups of near-duplicates (or {@code --group-by} parts), in one
 * seeded order per fold, so a smaller part is always inside a larger one and the same seed gives the same parts. A
 * fraction is left out when, in any fold, its part would hold fewer than {@link #MIN_IMAGES_PER_CLASS} images of a
 * class, or would be the whole of the fold's training images.
 *
 * <p>{@link Suggestion The rule} that names a class: among the classes whose recall at the last point is below the
 * target recall and rose between the last two points (at least one more image recalled), the one with the lowest
 * recall at the last point. Its {@code suggestedImages} extends the straight line through those two points to the
 * target recall (learning curves flatten, so read it as "at least"). When the lowest class below target did not rise
 * the curve is flat for it: it is named with a reason and no number.
 *
 * @param folds the cross-validation's k
 * @param epochs epochs every training of the curve ran (early stopping's choice on the held-out split)
 * @param points in increasing order of training images; the last is the full folds (fraction 1)
 * @param skipped fractions left out, with the reason
 * @param needsMoreExamples the rule's verdict
 * @param seconds time spent on the parts' trainings (the 100% point's is the folds' own)
 */
public record LearningCurve(int folds, int epochs, List<Point> points, List<String> skipped,
        Suggestion needsMoreExamples, double seconds) {
    /** The parts of each fold's training images the curve trains on besides the whole. */
    public static final double[] FRACTIONS = {0.25, 0.5, 0.75};
    /** The fewest images of every class a part must hold, or its fraction is left out. */
    public static final int MIN_IMAGES_PER_CLASS = 2;

    public LearningCurve {
        points = List.copyOf(points);
        skipped = List.copyOf(skipped);
    }

    /**
     * One point of the curve, out of fold over every labelled image.
     *
     * @param fraction the share of each fold's training images (per class) it trained on
     * @param trainImages training images per fold, averaged over the folds
     * @param perClassTrain training images of each class per fold, averaged over the folds
     * @param images images scored (every labelled image once)
     * @param defectRecall defects rejected at the package's operating threshold, with the count and its 95% lower
     *     bound
     * @param perClass per class: images predicted as their own class (argmax), of those of the class
     */
    public record Point(double fraction, double trainImages, Map<String, Double> perClassTrain, int images,
            double accuracy, double balancedAccuracy, RecallBound defectRecall, Map<String, RecallBound> perClass) {
        public Point {
            perClassTrain = Collections.unmodifiableMap(new LinkedHashMap<>(perClassTrain));
            perClass = Collections.unmodifiableMap(new LinkedHashMap<>(perClass));
        }
    }

    /**
     * @param className the class to label more of; null when the curve names none
     * @param reason one plain sentence with the figures behind it
     * @param currentImages labelled images of that class now
     * @param suggestedImages labelled images of that class at which the straight line through the last two points
     *     reaches the target recall; null when the curve is flat for it
     */
    public record Suggestion(String className, String reason, Integer currentImages, Integer suggestedImages) {}

    // ---- the parts ------------------------------------------------------------------------------------------

    /**
     * What the curve trains: the fractions kept, and for each of them every fold's part.
     *
     * @param parts {@code parts[p][f]}: the indices (ascending) fold {@code f} trains on at kept fraction {@code p}
     * @param skipped the fractions left out, each with its reason
     */
    public record Plan(double[] fractions, int[][][] parts, List<String> skipped) {
        public Plan {
            skipped = List.copyOf(skipped);
        }
    }

    /**
     * The parts every fold trains on. A fraction is kept when in every fold its part holds at least
     * {@link #MIN_IMAGES_PER_CLASS} images of each class, is smaller than the fold's training images, and differs from
     * the next larger kept fraction's part in some fold (so the points' training images strictly increase).
     *
     * @param trainIdx per fold, its training images (indices into the per-image arrays)
     * @param strata the splits' stratum of every image
     * @param labels the class of every image (-1 = none)
     * @param classes the class names
     * @param groups the part of every image; a group is never cut
     * @param seed the run's seed: the same seed gives the same parts
     */
    public static Plan plan(List<int[]> trainIdx, int[] strata, int[] labels, List<String> classes, int[] groups,
            long seed) {
        int folds = trainIdx.size();
        int[][][] byFold = new int[folds][][];
        for (int f = 0; f < folds; f++) {
            byFold[f] = parts(trainIdx.get(f), strata, groups, FRACTIONS, seed * 31 + f);
        }
        List<String> skipped = new ArrayList<>();
        List<Integer> kept = new ArrayList<>();
        int[][] next = null; // the next larger kept fraction's parts, by fold (null: the whole)
        for (int p = FRACTIONS.length - 1; p >= 0; p--) {
            String why = null;
            boolean same = true;
            for (int f = 0; f < folds && why == null; f++) {
                int[] part = byFold[f][p];
                int[] n = new int[classes.size()];
                for (int i : part) {
                    if (labels[i] >= 0) {
                        n[labels[i]]++;
                    }
                }
                for (int c = 0; c < n.length && why == null; c++) {
                    if (n[c] < MIN_IMAGES_PER_CLASS) {
                        why = String.format(Locale.ROOT, "fold %d's part would hold %d image%s of '%s' (fewer than"
                                + " %d)", f + 1, n[c], n[c] == 1 ? "" : "s", classes.get(c), MIN_IMAGES_PER_CLASS);
                    }
                }
                same &= Arrays.equals(part, next == null ? trainIdx.get(f) : next[f]);
            }
            if (why == null && same) {
                why = next == null ? "every fold's part would be all of its training images"
                        : "every fold's part would be the same as the next larger fraction's";
            }
            if (why != null) {
                skipped.add(0, String.format(Locale.ROOT, "%.0f%%: %s", 100 * FRACTIONS[p], why));
                continue;
            }
            kept.add(0, p);
            next = new int[folds][];
            for (int f = 0; f < folds; f++) {
                next[f] = byFold[f][p];
            }
        }
        double[] fractions = kept.stream().mapToDouble(p -> FRACTIONS[p]).toArray();
        int[][][] parts = new int[kept.size()][folds][];
        for (int k = 0; k < kept.size(); k++) {
            for (int f = 0; f < folds; f++) {
                parts[k][f] = byFold[f][kept.get(k)];
            }
        }
        return new Plan(fractions, parts, skipped);
    }

    /**
     * The nested parts of one fold's training images: for each of {@code fractions} (ascending) the indices it keeps,
     * ascending. Per stratum the groups are shuffled once ({@code seed}) and each fraction takes groups in that order
     * until it holds at least its share of the stratum's images; a group belongs to the stratum of most of its
     * images, and is never cut.
     */
    static int[][] parts(int[] trainIdx, int[] strata, int[] groups, double[] fractions, long seed) {
        // the groups of each stratum, in ascending group order (the shuffle below is the only randomness)
        Map<Integer, List<Integer>> members = new TreeMap<>();
        for (int i : trainIdx) {
            members.computeIfAbsent(groups[i], g -> new ArrayList<>()).add(i);
        }
        Map<Integer, List<Integer>> groupsOfStratum = new TreeMap<>();
        Map<Integer, Integer> stratumSize = new TreeMap<>();
        for (var e : members.entrySet()) {
            int s = majority(e.getValue(), strata);
            groupsOfStratum.computeIfAbsent(s, x -> new ArrayList<>()).add(e.getKey());
            stratumSize.merge(s, e.getValue().size(), Integer::sum);
        }
        Random rnd = new Random(seed);
        for (List<Integer> gs : groupsOfStratum.values()) {
            Collections.shuffle(gs, rnd);
        }
        int[][] out = new int[fractions.length][];
        for (int f = 0; f < fractions.length; f++) {
            List<Integer> keep = new ArrayList<>();
            for (var e : groupsOfStratum.entrySet()) {
                double want = fractions[f] * stratumSize.get(e.getKey());
                int taken = 0;
                for (int g : e.getValue()) {
                    if (taken >= want) {
                        break;
                    }
                    keep.addAll(members.get(g));
                    taken += members.get(g).size();
                }
            }
            out[f] = keep.stream().mapToInt(Integer::intValue).sorted().toArray();
        }
        return out;
    }

    private static int majority(List<Integer> images, int[] strata) {
        Map<Integer, Integer> n = new TreeMap<>();
        for (int i : images) {
            n.merge(strata[i], 1, Integer::sum);
        }
        int best = -1;
        int most = 0;
        for (var e : n.entrySet()) {
            if (e.getValue() > most) {
                best = e.getKey();
                most = e.getValue();
            }
        }
        return best;
    }

    // ---- the figures ----------------------------------------------------------------------------------------

    /**
     * One point from out-of-fold probabilities over every labelled image.
     *
     * @param trainCounts per fold, its training images of each class at this point
     * @param threshold the package's defect threshold (used when {@code okIndex >= 0})
     */
    public static Point point(double fraction, List<String> classes, int[] labels, float[][] probabilities,
            int okIndex, double threshold, int[][] trainCounts) {
        Metrics m = Metrics.of(classes, labels, probabilities, okIndex, threshold);
        int defects = 0;
        int caught = 0;
        for (int i = 0; i < labels.length; i++) {
            if (okIndex >= 0 && labels[i] != okIndex) {
                defects++;
                // the same comparison as Metrics and the operating point
                caught += 1.0 - probabilities[i][okIndex] >= threshold ? 1 : 0;
            }
        }
        Map<String, Double> perClassTrain = new LinkedHashMap<>();
        Map<String, RecallBound> perClass = new LinkedHashMap<>();
        double total = 0;
        for (int c = 0; c < classes.size(); c++) {
            double sum = 0;
            for (int[] fold : trainCounts) {
                sum += fold[c];
            }
            perClassTrain.put(classes.get(c), sum / trainCounts.length);
            total += sum;
            int support = Arrays.stream(m.confusion()[c]).sum();
            perClass.put(classes.get(c), RecallBound.of(m.confusion()[c][c], support));
        }
        return new Point(fraction, total / trainCounts.length, perClassTrain, labels.length, m.accuracy(),
                m.balancedAccuracy(), okIndex < 0 ? null : RecallBound.of(caught, defects), perClass);
    }

    /** The curve's verdict on which class needs more examples (see the class comment for the rule). */
    public static Suggestion suggest(List<Point> points, Map<String, Integer> labelled, double targetRecall) {
        if (points.size() < 2) {
            return new Suggestion(null, "only one point on the curve (the folds' training images are too few to cut"
                    + " into parts with " + MIN_IMAGES_PER_CLASS + " images of every class), so it cannot say", null,
                    null);
        }
        Point last = points.get(points.size() - 1);
        Point prev = points.get(points.size() - 2);
        String rising = null;
        String lowest = null;
        for (String c : last.perClass().keySet()) {
            RecallBound now = last.perClass().get(c);
            if (now.total() == 0 || !(now.recall() < targetRecall)) {
                continue;
            }
            if (lowest == null || now.recall() < last.perClass().get(lowest).recall()) {
                lowest = c;
            }
            if (now.caught() > prev.perClass().get(c).caught() && (rising == null
                    || now.recall() < last.perClass().get(rising).recall())) {
                rising = c;
            }
        }
        String span = String.format(Locale.ROOT, "from %.0f%% to %.0f%% of the training images", 100 * prev.fraction(),
                100 * last.fraction());
        if (rising != null) {
            RecallBound r1 = last.perClass().get(rising);
            RecallBound r0 = prev.perClass().get(rising);
            double x1 = last.perClassTrain().get(rising);
            double x0 = prev.perClassTrain().get(rising);
            int now = labelled.getOrDefault(rising, r1.total());
            Integer suggested = null;
            if (x1 > x0) {
                double slope = (r1.recall() - r0.recall()) / (x1 - x0);
                double xTarget = x1 + (targetRecall - r1.recall()) / slope;
                suggested = (int) Math.ceil(now * xTarget / x1 - 1e-9); // not 56 for 55.0000001
            }
            return new Suggestion(rising, String.format(Locale.ROOT, "'%s' has the lowest recall (%d of %d, %.2f;"
                    + " 95%% lower bound %.2f) of the classes below the %.2f target and it is still rising (%.2f ->"
                    + " %.2f %s): label more '%s' images%s", rising, r1.caught(), r1.total(), r1.recall(),
                    r1.lower95(), targetRecall, r0.recall(), r1.recall(), span, rising, suggested == null ? ""
                    : String.format(Locale.ROOT, "; a straight line through the last two points reaches %.2f at"
                            + " about %d labelled (%d now; curves flatten, so take it as at least)", targetRecall,
                            suggested, now)), now, suggested);
        }
        if (lowest != null) {
            RecallBound r1 = last.perClass().get(lowest);
            RecallBound r0 = prev.perClass().get(lowest);
            return new Suggestion(lowest, String.format(Locale.ROOT, "'%s' has the lowest recall (%d of %d, %.2f),"
                    + " below the %.2f target, but it did not rise %s (%.2f -> %.2f): more images like these may not"
                    + " help; check its labels, what tells it apart from the other classes, and the image quality",
                    lowest, r1.caught(), r1.total(), r1.recall(), targetRecall, span, r0.recall(), r1.recall()),
                    labelled.getOrDefault(lowest, r1.total()), null);
        }
        return new Suggestion(null, String.format(Locale.ROOT, "every class reaches the %.2f target recall out of fold"
                + " at the last point: the curve asks for no more labels (the operating point's own bound is in"
                + " calibration)", targetRecall), null, null);
    }
}
