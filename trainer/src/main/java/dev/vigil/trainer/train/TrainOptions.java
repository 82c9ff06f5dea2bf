package dev.vigil.trainer.train;

import dev.vigil.core.VigilException;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.features.PoolMode;
import java.util.List;

/**
 * Everything that shapes a training run. {@link #defaults()} is the one place the defaults live; the CLI and the
 * service start from it.
 *
 * @param unfreeze how many backbone blocks before the classifier are trained (0 = only the new head; -1 = automatic:
 *     1 for the pooled head, 0 for the patch head; {@link #UNFREEZE_ALL} = every layer, the cut at the input). With
 *     a progressive schedule: the most blocks it unfreezes (automatic = all)
 * @param epochs the most epochs; early stopping usually ends sooner
 * @param patience epochs without a better validation loss before stopping
 * @param batchSize samples per step
 * @param headLr learning rate of the new head
 * @param backboneLrFactor the unfrozen backbone layers learn at {@code headLr * backboneLrFactor}
 * @param weightDecay L2 penalty on the new head's weights (the head's input is standardised, so one value suits
 *     every dataset); pretrained layers are not decayed
 * @param dropout dropout on the head's input while training
 * @param validationFraction share of each class held out for validation, early stopping and the operating point
 * @param seed seeds the split, the shuffles, the head and the engine: the same seed gives the same model
 * @param random train the same architecture from scratch (no pretrained weights; the baseline)
 * @param geometry the input size asked for ({@link InputGeometry#AUTO}: chosen from the training images)
 * @param taps block boundaries whose pooled features feed the head, counted back from the final features (0)
 * @param pool how feature maps become vectors
 * @param augment image variants whose features are computed and cached; training draws one per image per epoch
 * @param tta test-time augmentation: the exported model averages its probabilities over the geometric variants of
 *     {@code augment} (computed inside the ONNX graph), and validation does the same
 * @param targetRecall defect recall the operating point must reach on the validation split
 * @param okLabel the class meaning "good part"; null = guess (ok, good, pass, normal)
 * @param refit after early stopping has chosen the number of epochs on the validation split, train once more from
 *     the start on every image (training and validation) for that many epochs: with ten images per class the held-out
 *     fifth is worth about a point of accuracy. Validation figures and the operating point stay those of the
 *     held-out run.
 * @param head how the head reads the feature maps: pooled vectors, or a score for every patch
 *     ({@link HeadKind#AUTO}: patches when the input is larger than the backbone's own)
 * @param lseR sharpness of the patch head's log-sum-exp pooling: near the mean of the cells' logits for small
 *     values, near their maximum for large ones
 * @param folds k of the k-fold cross-validation whose out-of-fold scores over every labelled image give the operating
 *     point and the validation figures (fewer when some class has fewer parts; 0 = the held-out split alone)
 * @param groupBy a regular expression whose first capturing group in a file name names the part; null = group
 *     near-duplicate images automatically. No part is ever on both sides of a split.
 * @param finetune how unfrozen pretrained blocks learn: learning-rate decay towards the input, BatchNorm statistics,
 *     constant or progressive unfreezing
 * @param learningCurve with cross-validation (2 folds or more) and a single classifier: each fold also trains on
 *     nested, class-stratified parts of its training images ({@link LearningCurve#FRACTIONS}), so the package's report
 *     says how the out-of-fold figures grow with the labelled images and which class needs more (3 more trainings
 *     per fold, docs/trainer.md); never without cross-validation, for multi-task or for anomaly models
 */
public record TrainOptions(int unfreeze, int epochs, int patience, int batchSize, float headLr,
        float backboneLrFactor, float weightDecay, float dropout, double validationFraction, long seed,
        boolean random, InputGeometry geometry, List<Integer> taps, PoolMode pool, List<Variant> augment,
        boolean tta, double targetRecall, String okLabel, boolean refit, HeadKind head, float lseR, int folds,
        String groupBy, Finetune finetune, boolean learningCurve) {

    public TrainOptions {
        taps = List.copyOf(taps);
        augment = List.copyOf(augment);
        if (epochs < 1 || epochs > 10_000) {
            throw new VigilException("--epochs must be between 1 and 10000, found " + epochs);
        }
        if (batchSize < 1) {
            throw new VigilException("--batch-size must be 1 or more, found " + batchSize);
        }
        if (!(headLr > 0 && headLr < 10)) {
            throw new VigilException("--lr must be between 0 and 10 (exclusive), found " + headLr);
        }
        if (!(backboneLrFactor >= 0 && backboneLrFactor <= 1)) {
            throw new VigilException("--backbone-lr-factor must be between 0 and 1, found " + backboneLrFactor);
        }
        if (!(validationFraction > 0 && validationFraction < 0.9)) {
            throw new VigilException("--val-fraction must be between 0 and 0.9 (exclusive), found "
                    + validationFraction);
        }
        if (!(targetRecall > 0 && targetRecall <= 1)) {
            throw new VigilException("--target-recall must be in (0, 1], found " + targetRecall);
        }
        java.util.Objects.requireNonNull(geometry, "geometry");
        finetune = finetune == null ? Finetune.DEFAULT : finetune;
        head = head == null ? HeadKind.AUTO : head;
        if (!(lseR > 0 && lseR <= 100)) {
            throw new VigilException("--lse-r must be in (0, 100], found " + lseR);
        }
        if (folds < 0 || folds == 1 || folds > 20) {
            throw new VigilException("--folds must be 0 (no cross-validation) or 2..20, found " + folds);
        }
        if (unfreeze < -1) {
            throw new VigilException("--unfreeze must be 0 or more, found " + unfreeze);
        }
        if (taps.isEmpty() || !taps.contains(0)) {
            throw new VigilException("--taps must include 0 (the final features), found " + taps);
        }
        if (!(weightDecay >= 0 && weightDecay < 10)) {
            throw new VigilException("--weight-decay must be in [0, 10), found " + weightDecay);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new VigilException("--dropout must be in [0, 1), found " + dropout);
        }
    }

    /** Log-sum-exp sharpness of the patch head (see docs/benchmarks.md for the comparison). */
    public static final float DEFAULT_LSE_R = 5f;
    /** Folds of the cross-validation behind the operating point. */
    public static final int DEFAULT_FOLDS = 5;

    /** {@code --unfreeze all}: every layer of the backbone trains (the cut is the image input). */
    public static final int UNFREEZE_ALL = Integer.MAX_VALUE;

    public static TrainOptions defaults() {
        return new TrainOptions(-1, 40, 8, 32, 1e-3f, 0.1f, 1e-2f, 0.2f, 0.2, 42L, false, InputGeometry.AUTO,
                List.of(0, 4), PoolMode.AVGMAX, Variant.parseList(Variant.DIHEDRAL), true, 0.99, null, true,
                HeadKind.AUTO, DEFAULT_LSE_R, DEFAULT_FOLDS, null, Finetune.DEFAULT, true);
    }

    public TrainOptions withUnfreeze(int n) {
        return new TrainOptions(n, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, geometry, taps, pool, augment, tta, targetRecall, okLabel, refit,
                head, lseR, folds, groupBy, finetune, learningCurve);
    }

    public TrainOptions withEpochs(int n) {
        return new TrainOptions(unfreeze, n, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, geometry, taps, pool, augment, tta, targetRecall, okLabel, refit,
                head, lseR, folds, groupBy, finetune, learningCurve);
    }

    public TrainOptions withSeed(long s) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, s, random, geometry, taps, pool, augment, tta, targetRecall, okLabel, refit, head,
                lseR, folds, groupBy, finetune, learningCurve);
    }

    public TrainOptions withRandom(boolean r) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, r, geometry, taps, pool, augment, tta, targetRecall, okLabel, refit, head,
                lseR, folds, groupBy, finetune, learningCurve);
    }

    public TrainOptions withHead(int size, List<Integer> t, PoolMode p) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, InputGeometry.square(size), t, p, augment, tta, targetRecall, okLabel,
                refit, head, lseR, folds, groupBy, finetune, learningCurve);
    }

    public TrainOptions withAugment(List<Variant> a) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, geometry, taps, pool, a, tta, targetRecall, okLabel, refit, head,
                lseR, folds, groupBy, finetune, learningCurve);
    }

    public TrainOptions withLr(float lr) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, lr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, geometry, taps, pool, augment, tta, targetRecall, okLabel, refit,
                head, lseR, folds, groupBy, finetune, learningCurve);
    }

    public TrainOptions withTta(boolean t) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, geometry, taps, pool, augment, t, targetRecall, okLabel, refit, head,
                lseR, folds, groupBy, finetune, learningCurve);
    }

    public TrainOptions withRegularisation(float wd, float drop) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, wd, drop,
                validationFraction, seed, random, geometry, taps, pool, augment, tta, targetRecall, okLabel, refit,
                head, lseR, folds, groupBy, finetune, learningCurve);
    }

    public TrainOptions withOkLabel(String ok) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, geometry, taps, pool, augment, tta, targetRecall, ok, refit, head,
                lseR, folds, groupBy, finetune, learningCurve);
    }

    public TrainOptions withRefit(boolean r) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, geometry, taps, pool, augment, tta, targetRecall, okLabel, r, head,
                lseR, folds, groupBy, finetune, learningCurve);
    }

    public TrainOptions withGeometry(InputGeometry g) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, g, taps, pool, augment, tta, targetRecall, okLabel, refit, head, lseR,
                folds, groupBy, finetune, learningCurve);
    }

    public TrainOptions withHeadKind(HeadKind h) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, geometry, taps, pool, augment, tta, targetRecall, okLabel, refit, h,
                lseR, folds, groupBy, finetune, learningCurve);
    }

    public TrainOptions withLseR(float r) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, geometry, taps, pool, augment, tta, targetRecall, okLabel, refit,
                head, r, folds, groupBy, finetune, learningCurve);
    }

    public TrainOptions withFolds(int k) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, geometry, taps, pool, augment, tta, targetRecall, okLabel, refit,
                head, lseR, k, groupBy, finetune, learningCurve);
    }

    public TrainOptions withGroupBy(String regex) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, geometry, taps, pool, augment, tta, targetRecall, okLabel, refit,
                head, lseR, folds, regex, finetune, learningCurve);
    }

    public TrainOptions withTargetRecall(double r) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, geometry, taps, pool, augment, tta, r, okLabel, refit,
                head, lseR, folds, groupBy, finetune, learningCurve);
    }

    public TrainOptions withFinetune(Finetune f) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, geometry, taps, pool, augment, tta, targetRecall, okLabel, refit,
                head, lseR, folds, groupBy, f, learningCurve);
    }

    public TrainOptions withLearningCurve(boolean on) {
        return new TrainOptions(unfreeze, epochs, patience, batchSize, headLr, backboneLrFactor, weightDecay, dropout,
                validationFraction, seed, random, geometry, taps, pool, augment, tta, targetRecall, okLabel, refit,
                head, lseR, folds, groupBy, finetune, on);
    }

    /**
     * Parses {@code --learning-curve}: {@code on} or {@code off} (any case); the error names the bad value.
     */
    public static boolean parseLearningCurve(String s) {
        return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "on" -> true;
            case "off" -> false;
            default -> throw new VigilException("--learning-curve must be on (each cross-validation fold also trains"
                    + " on 25%, 50% and 75% of its training images) or off, found '" + s + "'");
        };
    }

    /** Whether the unfrozen blocks are trained all at once or added one by one ({@code --schedule progressive}). */
    public boolean progressive() {
        return finetune.progressiveEvery() > 0;
    }
}
