package dev.vigil.trainer.eval;

import dev.vigil.core.VigilException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * Splits images into folds (k-fold cross-validation) or into train and validation (a hold-out) without ever
 * putting one physical part on both sides, and with each class spread as evenly as the parts allow.
 *
 * <p>Guarantees, for both kinds of split:
 * <ul>
 *   <li>every group (see {@link Grouping}) lies wholly in one fold, or wholly on one side;</li>
 *   <li>the same labels, groups, k or fraction and seed give the same split; another seed shuffles which parts
 *       go where;</li>
 *   <li>nothing is reduced or dropped silently: {@link #assign} uses exactly the k it is given, and says so when k
 *       exceeds the number of parts. A fold can only hold a class that some part of it brings, so callers first ask
 *       {@link #feasibleFolds} for the k at which every fold can have every class, and use that (telling the
 *       operator when it is below what was asked).</li>
 * </ul>
 *
 * <p>Labels are class indices ≥ 0; groups are any ints (see {@link Grouping}), one of each per image.
 *
 * <pre>{@code
 * int k = GroupKFold.feasibleFolds(labels, groups, 5);
 * int[] folds = GroupKFold.assign(labels, groups, k, seed);
 * List<int[]> tv = GroupKFold.trainValidation(folds, 0);      // [train indices, validation indices]
 * int[][] split = GroupKFold.holdOut(labels, groups, 0.2, seed);
 * }</pre>
 */
public final class GroupKFold {
    private GroupKFold() {}

    // ---- k folds ---------------------------------------------------------------------------------------------

    /**
     * The fold (0..k−1) of each image. Greedy: the groups are shuffled with {@code seed}, sorted by size, largest
     * first (stable, so equal sizes keep the shuffled order), and each goes to the fold where it least increases
     * {@code Σ_fold Σ_class (count − target)² / target}, with {@code target = class total / k}; ties go to the
     * smaller fold, then the lower index. Dividing by the target makes a rare class count as much as a common one.
     * A group of a single class thus always goes to a fold with the fewest of that class, so a class with at least
     * k single-class groups reaches every fold.
     *
     * @throws VigilException when k is below 2 or above the number of groups
     */
    public static int[] assign(int[] labels, int[] groups, int k, long seed) {
        Parts parts = Parts.of(labels, groups);
        if (k < 2) {
            throw new VigilException("cross-validation needs at least 2 folds, found k=" + k);
        }
        if (k > parts.count()) {
            throw new VigilException(k + " folds need at least " + k + " parts, but the " + labels.length
                    + " images show only " + parts.count() + "; use at most " + parts.count()
                    + " folds (GroupKFold.feasibleFolds says how many give every fold every class)");
        }
        int classes = parts.classes();
        double[] target = new double[classes];
        for (int c = 0; c < classes; c++) {
            target[c] = parts.classTotal(c) / (double) k;
        }
        int[][] foldCounts = new int[k][classes];
        int[] foldSize = new int[k];
        int[] foldOfGroup = new int[parts.count()];
        for (int g : parts.shuffledLargestFirst(seed)) {
            int[] gc = parts.counts(g);
            int best = -1;
            double bestDelta = Double.POSITIVE_INFINITY;
            for (int f = 0; f < k; f++) {
                double delta = 0;
                for (int c = 0; c < classes; c++) {
                    if (gc[c] > 0) {
                        delta += gc[c] * (2.0 * (foldCounts[f][c] - target[c]) + gc[c]) / target[c];
                    }
                }
                if (delta < bestDelta || (delta == bestDelta && foldSize[f] < foldSize[best])) {
                    best = f;
                    bestDelta = delta;
                }
            }
            foldOfGroup[g] = best;
            for (int c = 0; c < classes; c++) {
                foldCounts[best][c] += gc[c];
            }
            foldSize[best] += parts.size(g);
        }
        int[] folds = new int[labels.length];
        for (int i = 0; i < labels.length; i++) {
            folds[i] = foldOfGroup[parts.groupOf(i)];
        }
        return folds;
    }

    /**
     * The number of folds to use when k are wanted: {@code min(k, fewest groups that contain any one class)}, the
     * most folds for which every fold can hold every class (a class seen in 3 parts can reach 3 folds at most).
     * Classes with no images are ignored. A result below 2 means there is no cross-validation to be had: some class
     * shows a single part.
     */
    public static int feasibleFolds(int[] labels, int[] groups, int k) {
        Parts parts = Parts.of(labels, groups);
        int fewest = Integer.MAX_VALUE;
        for (int c = 0; c < parts.classes(); c++) {
            if (parts.classTotal(c) > 0) {
                fewest = Math.min(fewest, parts.groupsWithClass(c));
            }
        }
        return Math.min(k, fewest);
    }

    /**
     * The image indices of one fold as validation and all others as training, each in ascending order.
     *
     * @return a list of two arrays: [train indices, validation indices]
     */
    public static List<int[]> trainValidation(int[] folds, int fold) {
        int val = 0;
        for (int f : folds) {
            val += f == fold ? 1 : 0;
        }
        if (val == 0) {
            throw new IllegalArgumentException("fold " + fold + " holds no images");
        }
        int[] train = new int[folds.length - val];
        int[] validation = new int[val];
        int t = 0;
        int v = 0;
        for (int i = 0; i < folds.length; i++) {
            if (folds[i] == fold) {
                validation[v++] = i;
            } else {
                train[t++] = i;
            }
        }
        return List.of(train, validation);
    }

    // ---- hold-out --------------------------------------------------------------------------------------------

    /**
     * A train/validation split with about {@code fraction} of each class in validation, no group split, and at
     * least one image of every class on each side. Classes are named by their index in messages; see
     * {@link #holdOut(int[], List, int[], double, long)} to name them.
     *
     * @return {trainIndices, validationIndices}, each in ascending order
     */
    public static int[][] holdOut(int[] labels, int[] groups, double fraction, long seed) {
        return holdOut(labels, null, groups, fraction, seed);
    }

    /**
     * As {@link #holdOut(int[], int[], double, long)}, naming classes by {@code classNames} in messages.
     *
     * <p>How: the groups are shuffled with {@code seed}. First, for each class (fewest groups first) that has no
     * validation image yet, the group containing it that brings validation closest to the targets
     * ({@code fraction × class total}) is moved there. Then the shuffled groups are visited in turn, and each is
     * moved to validation if that brings validation closer to the targets ({@code Σ_class (count − target)² / class
     * total}), repeating until none moves. No move ever takes the last training group of a class. For single-class
     * groups, each class ends within half the largest group's size of its target (unless its first group alone
     * overshoots).
     *
     * @param classNames the class names by index, or null
     * @throws VigilException when fraction is not in (0, 1), or a class's images all belong to one part (then
     *     validation cannot have it without training losing it), or the groups mix classes so that a class cannot
     *     be put on both sides
     */
    public static int[][] holdOut(int[] labels, List<String> classNames, int[] groups, double fraction, long seed) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new VigilException("validation fraction must be between 0 and 1 (exclusive), found " + fraction);
        }
        Parts parts = Parts.of(labels, groups);
        int classes = parts.classes();
        double[] target = new double[classes];
        int[] trainGroupsWith = new int[classes];
        List<Integer> byFewestGroups = new ArrayList<>();
        for (int c = 0; c < classes; c++) {
            if (parts.classTotal(c) == 0) {
                continue;
            }
            if (parts.groupsWithClass(c) < 2) {
                throw new VigilException("class " + name(c, classNames) + ": all its " + parts.classTotal(c)
                        + " image" + (parts.classTotal(c) == 1 ? "" : "s") + " belong to one part, so validation"
                        + " needs images of at least two parts: label more parts of that class, or give a"
                        + " --group-by that separates them");
            }
            target[c] = fraction * parts.classTotal(c);
            trainGroupsWith[c] = parts.groupsWithClass(c);
            byFewestGroups.add(c);
        }
        byFewestGroups.sort(Comparator.comparingInt(parts::groupsWithClass));
        List<Integer> order = parts.shuffled(seed);
        boolean[] inVal = new boolean[parts.count()];
        int[] valCounts = new int[classes];

        for (int c : byFewestGroups) {
            if (valCounts[c] > 0) {
                continue;
            }
            int best = -1;
            double bestCost = Double.POSITIVE_INFINITY;
            for (int g : order) {
                if (!inVal[g] && parts.counts(g)[c] > 0 && keepsTraining(parts.counts(g), trainGroupsWith)) {
                    double cost = costAfter(valCounts, parts.counts(g), target, parts);
                    if (cost < bestCost) {
                        best = g;
                        bestCost = cost;
                    }
                }
            }
            if (best < 0) {
                throw new VigilException("class " + name(c, classNames) + " cannot be put in both training and"
                        + " validation: each of its parts also holds the last training images of another class;"
                        + " check that --group-by does not join parts of different classes");
            }
            move(best, parts, inVal, valCounts, trainGroupsWith);
        }

        boolean moved = true;
        while (moved) {
            moved = false;
            for (int g : order) {
                if (inVal[g] || !keepsTraining(parts.counts(g), trainGroupsWith)) {
                    continue;
                }
                if (costAfter(valCounts, parts.counts(g), target, parts) < cost(valCounts, target, parts) - 1e-12) {
                    move(g, parts, inVal, valCounts, trainGroupsWith);
                    moved = true;
                }
            }
        }

        int val = 0;
        for (int i = 0; i < labels.length; i++) {
            val += inVal[parts.groupOf(i)] ? 1 : 0;
        }
        int[] train = new int[labels.length - val];
        int[] validation = new int[val];
        int t = 0;
        int v = 0;
        for (int i = 0; i < labels.length; i++) {
            if (inVal[parts.groupOf(i)]) {
                validation[v++] = i;
            } else {
                train[t++] = i;
            }
        }
        return new int[][] {train, validation};
    }

    private static String name(int c, List<String> classNames) {
        return classNames != null && c < classNames.size() ? "'" + classNames.get(c) + "'" : String.valueOf(c);
    }

    /** Whether moving a group with these class counts to validation leaves every class a training group. */
    private static boolean keepsTraining(int[] groupCounts, int[] trainGroupsWith) {
        for (int c = 0; c < groupCounts.length; c++) {
            if (groupCounts[c] > 0 && trainGroupsWith[c] <= 1) {
                return false;
            }
        }
        return true;
    }

    private static void move(int g, Parts parts, boolean[] inVal, int[] valCounts, int[] trainGroupsWith) {
        inVal[g] = true;
        int[] gc = parts.counts(g);
        for (int c = 0; c < gc.length; c++) {
            valCounts[c] += gc[c];
            trainGroupsWith[c] -= gc[c] > 0 ? 1 : 0;
        }
    }

    private static double cost(int[] valCounts, double[] target, Parts parts) {
        double s = 0;
        for (int c = 0; c < valCounts.length; c++) {
            if (parts.classTotal(c) > 0) {
                double d = valCounts[c] - target[c];
                s += d * d / parts.classTotal(c);
            }
        }
        return s;
    }

    private static double costAfter(int[] valCounts, int[] groupCounts, double[] target, Parts parts) {
        int[] after = valCounts.clone();
        for (int c = 0; c < after.length; c++) {
            after[c] += groupCounts[c];
        }
        return cost(after, target, parts);
    }

    // ---- the parts -------------------------------------------------------------------------------------------

    /** Images by group: ids renumbered 0..G−1, class counts per group. */
    private record Parts(int[] groupOf, int[][] counts, int[] classTotals, int[] groupsWith) {
        static Parts of(int[] labels, int[] groups) {
            if (labels.length != groups.length) {
                throw new IllegalArgumentException(labels.length + " labels but " + groups.length + " group ids");
            }
            int classes = 0;
            for (int l : labels) {
                if (l < 0) {
                    throw new IllegalArgumentException("a label is negative: " + l);
                }
                classes = Math.max(classes, l + 1);
            }
            int[] groupOf = Grouping.renumber(groups);
            int g = groupOf.length == 0 ? 0 : Grouping.count(groupOf);
            int[][] counts = new int[g][classes];
            int[] totals = new int[classes];
            for (int i = 0; i < labels.length; i++) {
                counts[groupOf[i]][labels[i]]++;
                totals[labels[i]]++;
            }
            int[] with = new int[classes];
            for (int[] gc : counts) {
                for (int c = 0; c < classes; c++) {
                    with[c] += gc[c] > 0 ? 1 : 0;
                }
            }
            return new Parts(groupOf, counts, totals, with);
        }

        int count() {
            return counts.length;
        }

        int classes() {
            return classTotals.length;
        }

        int classTotal(int c) {
            return classTotals[c];
        }

        int groupsWithClass(int c) {
            return groupsWith[c];
        }

        int groupOf(int image) {
            return groupOf[image];
        }

        int[] counts(int g) {
            return counts[g];
        }

        int size(int g) {
            int s = 0;
            for (int n : counts[g]) {
                s += n;
            }
            return s;
        }

        List<Integer> shuffled(long seed) {
            List<Integer> order = new ArrayList<>();
            for (int g = 0; g < count(); g++) {
                order.add(g);
            }
            Collections.shuffle(order, new Random(seed));
            return order;
        }

        List<Integer> shuffledLargestFirst(long seed) {
            List<Integer> order = shuffled(seed);
            order.sort(Comparator.comparingInt(this::size).reversed());
            return order;
        }
    }
}
