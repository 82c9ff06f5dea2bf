package dev.vigil.trainer.train;

import dev.vigil.trainer.eval.Metrics;
import dev.vigil.trainer.eval.OperatingPoint;
import java.util.List;
import java.util.Map;

/**
 * What a training run produced besides the network itself: the plan it followed, its history and its figures.
 *
 * @param bestEpoch the epoch early stopping chose on the validation split
 * @param refitted the exported weights were trained again on every image for {@code bestEpoch} epochs
 * @param validation figures over the out-of-fold scores of every labelled image (or the held-out split's when no
 *     cross-validation was possible), at the operating point
 * @param counts images per class: train and validation
 * @param operatingPoint null when the dataset has no good-part class
 * @param thresholdCurve validation defect recall and false-reject rate per threshold; null without a good-part class
 * @param calibration where the operating point's scores came from and how far its recall can be trusted
 * @param learningCurve the out-of-fold figures against the number of training images; null when it was not
 *     computed ({@code --learning-curve off}, no cross-validation, multi-task)
 */
public record TrainingResult(TrainingPlan plan, List<EpochStats> history, int bestEpoch, boolean refitted,
        Metrics validation,
        OperatingPoint operatingPoint, List<OperatingPoint.CurvePoint> thresholdCurve, Map<String, int[]> counts, int skippedImages, int featuresFromCache,
        String datasetSha256, double prefixSeconds, double prefixSecondsOriginal, double trainSeconds,
        double totalSeconds, Calibration calibration, LearningCurve learningCurve) {

    /** One epoch; {@code trainedBlocks}: backbone blocks that learned in it (progressive unfreezing adds them). */
    public record EpochStats(int epoch, double trainLoss, double validationLoss, double validationAccuracy,
            double seconds, int trainedBlocks) {}
}
