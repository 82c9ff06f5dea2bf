package dev.vigil.trainer.train;

import dev.vigil.trainer.eval.Metrics;
import dev.vigil.trainer.eval.OperatingPoint;
import java.util.List;
import java.util.Map;

/**
 * What a training run produced besides the network itself: the plan it followed, its history and its figures.
 *
 * @param bestEpoch the epoch early stopping chose on the validation split
 * @param refitted the exported weights were trained again on training and validation images for {@code bestEpoch}
 *     epochs; {@code validation}, the operating point and the curve are those of the held-out run
 * @param counts images per class: train and validation
 * @param operatingPoint null when the dataset has no good-part class
 * @param thresholdCurve validation defect recall and false-reject rate per threshold; null without a good-part class
 */
public record TrainingResult(TrainingPlan plan, List<EpochStats> history, int bestEpoch, boolean refitted,
        Metrics validation,
        OperatingPoint operatingPoint, List<OperatingPoint.CurvePoint> thresholdCurve, Map<String, int[]> counts, int skippedImages, int featuresFromCache,
        String datasetSha256, double prefixSeconds, double prefixSecondsOriginal, double trainSeconds,
        double totalSeconds) {

    public record EpochStats(int epoch, double trainLoss, double validationLoss, double validationAccuracy,
            double seconds) {}
}
