package dev.vigil.trainer.anomaly;

import dev.vigil.core.model.Manifest;

import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.data.LabelledImage;
import java.util.List;
import java.util.Map;

/**
 * What {@link AnomalyTrainer} produces: everything the exporter writes, and nothing that is still being trained.
 *
 * @param labels the package's classes in output order: the good folder's name and {@value Manifest#ANOMALY_LABEL},
 *     sorted as class folders are
 * @param okLabel the good folder's name
 * @param summary what the run did and measured (report.json)
 * @param verificationImages images the exporter checks ONNX Runtime against the Java reference on: good images
 *     spread over the set, and labelled defects when there were any
 * @param scores every image's score from a memory that never saw it (null when not kept)
 */
public record AnomalyModel(Backbone backbone, AnomalyPlan plan, PatchMemory memory, Calibration calibration,
        List<String> labels, String okLabel, AnomalyOptions options, Summary summary,
        List<LabelledImage> verificationImages, Scores scores) {

    public AnomalyModel {
        labels = List.copyOf(labels);
        verificationImages = List.copyOf(verificationImages);
    }

    /**
     * Image scores (worst patch's distance) from memories that never saw the image: the good images' out-of-fold
     * scores, then the other folders' images against the memory of every good image (they are never in it).
     */
    public record Scores(List<LabelledImage> images, double[] distances) {
        public Scores {
            images = List.copyOf(images);
            distances = distances.clone();
            if (images.size() != distances.length) {
                throw new IllegalArgumentException(images.size() + " images but " + distances.length + " scores");
            }
        }
    }

    /** The index of the good class in {@link #labels}. */
    public int okIndex() {
        return labels.indexOf(okLabel);
    }

    /**
     * @param goodImages good images the memory and the calibration were built from
     * @param skippedImages images that could not be read
     * @param otherClasses class folders besides the good one (not in the memory; scored for the report)
     * @param datasetSha256 SHA-256 over the sorted {@code class/imageSha256} lines of the good images
     * @param patchesPerImage grid cells per image
     * @param candidatesPerImage patches each image offers the coreset (its own k-center selection)
     * @param memoryRows rows of the final memory
     * @param folds folds of the out-of-fold calibration
     * @param groups distinct parts the folds kept together
     * @param grouping how the parts were found ({@code --group-by} or near-duplicates)
     * @param labelledDefects scores of images of the other folders against the final memory, or null
     * @param timing seconds per step
     * @param peakHeapBytes the most Java heap in use during training (all pools' peaks, summed)
     */
    public record Summary(int goodImages, int skippedImages, List<String> otherClasses, String datasetSha256,
            int patchesPerImage, int candidatesPerImage, long candidates, int memoryRows, int folds, int groups,
            String grouping, LabelledDefects labelledDefects, Map<String, Double> timing, long peakHeapBytes) {}

    /**
     * How images of labelled defect folders score against the memory of every good image (a sanity check on data the
     * memory never saw; the threshold was placed without them).
     *
     * @param auroc their scores against the good images' out-of-fold scores
     * @param recallAtThreshold share of them at or above the threshold
     */
    public record LabelledDefects(int images, double auroc, double recallAtThreshold) {}
}
