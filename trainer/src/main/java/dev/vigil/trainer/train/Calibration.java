package dev.vigil.trainer.train;

import dev.vigil.trainer.eval.RecallBound;

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
        String warning, double auroc) {}
