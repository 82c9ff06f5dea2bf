package dev.vigil.trainer.train;

import dev.vigil.trainer.eval.Auroc;
import dev.vigil.trainer.eval.OperatingPoint;
import dev.vigil.trainer.eval.RecallBound;
import java.util.Arrays;
import java.util.Locale;

/**
 * Where a package's operating point and validation figures come from, and how far its promised recall can be
 * trusted on parts it has not seen.
 *
 * @param method {@code out-of-fold} (k-fold cross-validation over every labelled image, no part on both sides) or
 *     {@code held-out} (one split, when some class has fewer than two parts)
 * @param folds the k of the cross-validation (0 with {@code held-out})
 * @param groups parts found among the images ({@code --group-by} or near-duplicates)
 * @param recall defect recall at the threshold with its one-sided 95% Clopper–Pearson lower bound; null without a
 *     good-part class or without defects
 * @param defects defective images behind the threshold
 * @param defectsNeeded the fewest defects, all caught, whose 95% lower bound reaches the target recall
 * @param warning a plain sentence when there are too few defects to back the target recall, else null
 * @param auroc image-level area under the ROC curve of the defect score (defects against good parts)
 */
public record Calibration(String method, int folds, int groups, RecallBound recall, int defects, int defectsNeeded,
        String warning, double auroc) {
    /**
     * The calibration of operating point {@code op} chosen on {@code scores} ({@code [0]} the defects' defect
     * probabilities, {@code [1]} the good parts'; null without a good-part class).
     */
    public static Calibration of(String method, int folds, int groups, double[][] scores, OperatingPoint op,
            double targetRecall) {
        int needed = RecallBound.defectsNeeded(Math.min(targetRecall, 0.999));
        if (op == null || scores == null || scores[0].length == 0) {
            return new Calibration(method, folds, groups, null, 0, needed, null, Double.NaN);
        }
        int caught = (int) Arrays.stream(scores[0]).filter(x -> x >= op.defectThreshold()).count();
        RecallBound bound = RecallBound.of(caught, scores[0].length);
        String warning = scores[0].length < needed ? String.format(Locale.ROOT, "only %d labelled defect%s behind"
                + " the operating point: at the threshold %.4f it caught %d (recall %.3f), and with so few the 95%%"
                + " lower bound on recall is %.3f, short of the %.3f target; label at least %d defects to back it",
                scores[0].length, scores[0].length == 1 ? "" : "s", op.defectThreshold(), caught, bound.recall(),
                bound.lower95(), targetRecall, needed) : null;
        return new Calibration(method, folds, groups, bound, scores[0].length, needed, warning,
                Auroc.of(scores[0], scores[1]));
    }
}
