package dev.vigil.trainer.combined;

import dev.vigil.core.model.Manifest;

import dev.vigil.trainer.anomaly.AnomalyModel;
import dev.vigil.trainer.eval.Metrics;
import dev.vigil.trainer.eval.OperatingPoint;
import dev.vigil.trainer.train.Calibration;
import dev.vigil.trainer.train.TransferTrainer;
import java.util.List;

/**
 * A supervised head and a memory of good parts, over one backbone and one input, joined by a {@link ScoreCombination}:
 * what {@link CombinedExporter} writes.
 *
 * @param labels the supervised classes in their output order, then {@value dev.vigil.core.model.Manifest#ANOMALY_LABEL}
 * @param operatingPoint the package's defect threshold and the out-of-fold figures of {@code D} at it
 * @param thresholdCurve out-of-fold recall and false rejects of {@code D} per threshold
 * @param validation out-of-fold metrics of the combined class probabilities at the operating point
 * @param calibration the recall bound and warning at the operating point (as a supervised package's)
 * @param figures how each score alone and together ranked the out-of-fold images, and what the guard did
 */
public record CombinedModel(TransferTrainer supervised, AnomalyModel anomaly, ScoreCombination combination,
        List<String> labels, OperatingPoint operatingPoint, List<OperatingPoint.CurvePoint> thresholdCurve,
        Metrics validation, Calibration calibration, Figures figures) {

    public CombinedModel {
        labels = List.copyOf(labels);
    }

    /**
     * @param images out-of-fold images scored by both
     * @param supervisedAuroc the supervised head alone
     * @param anomalyAuroc the anomaly memory alone
     * @param regressionAuroc {@code q}
     * @param combinedAuroc {@code D} (with the guard)
     * @param guardFalseRejects good parts the guard rejects that {@code q} passed
     * @param guardCatches defects the guard rejects that {@code q} passed
     */
    public record Figures(int images, int defects, double supervisedAuroc, double anomalyAuroc,
            double regressionAuroc, double combinedAuroc, int guardFalseRejects, int guardCatches) {}
}
