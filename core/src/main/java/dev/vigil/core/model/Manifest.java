package dev.vigil.core.model;


import java.util.List;
import java.util.Map;

/**
 * {@code manifest.json} of a model package (schema version {@link #SCHEMA_VERSION}). See docs/model-package.md.
 */
public record Manifest(int schemaVersion, String id, String createdAt, List<String> labels, String okLabel,
        Input input, Output output, BackboneRef backbone, Training training, OperatingPointRef operatingPoint,
        Map<String, Object> metrics, String modelSha256, Map<String, String> files) {
    /** The name of the class a memory of good parts adds beside the supervised ones (or the good one). */
    public static final String ANOMALY_LABEL = "anomaly";


    public static final int SCHEMA_VERSION = 1;

    public Manifest {
        labels = List.copyOf(labels);
        files = Map.copyOf(files);
    }

    /**
     * How to feed the model: brought to {@code width x height} as {@code fit} says ({@code stretch}, or
     * {@code letterbox}: aspect ratio kept, centred, padded with the mean colour; absent = stretch), then
     * {@code (pixel * scale - mean[c]) / std[c]}, CHW, channels in {@code colorOrder}.
     */
    public record Input(String tensor, int width, int height, String colorOrder, float scale, float[] mean,
            float[] std, String layout, String fit, Tiles tiles) {}

    /**
     * How the graph cuts its input into tiles (informational: the graph does it, readers feed the whole input as
     * always); null when it runs on the whole input.
     */
    public record Tiles(int cols, int rows, int overlap, int tileWidth, int tileHeight) {}

    /**
     * @param tensor the class probabilities {@code [N,K]}
     * @param defectMap the second output {@code [N,1,h,w]}: the defect score of each cell of a grid laid evenly over
     *     the input (cell {@code (i,j)} covers input pixels {@code [j*W/w,(j+1)*W/w) x [i*H/h,(i+1)*H/h)}), in [0,1];
     *     null when the model has no map
     */
    public record Output(String tensor, String kind, String defectMap, Drift drift, String verdictHead,
            List<Head> heads) {
        public Output {
            heads = heads == null ? null : List.copyOf(heads);
        }

        public Output(String tensor, String kind, String defectMap) {
            this(tensor, kind, defectMap, null);
        }

        public Output(String tensor, String kind, String defectMap, Drift drift) {
            this(tensor, kind, defectMap, drift, null, null);
        }

        /** The heads other than the verdict head (empty for a single classifier). */
        public List<Head> otherHeads() {
            return heads == null ? List.of() : heads.stream().filter(h -> !h.name().equals(verdictHead)).toList();
        }
    }

    /**
     * One head of a multi-task model (docs/multitask.md): several classifiers on one backbone, each with its own
     * probabilities output. The verdict head's output is {@link Output#tensor()} and its labels are the manifest's
     * {@code labels}; the others are carried beside the verdict as attributes.
     *
     * @param name the head's name (a column of the training CSV)
     * @param tensor its probabilities output {@code [N,K]}
     * @param labels its classes, in output order
     */
    public record Head(String name, String tensor, List<String> labels) {
        public Head {
            labels = List.copyOf(labels);
        }
    }

    /**
     * The features the service's drift watch reads (docs/drift.md).
     *
     * @param tensor output {@code [N,D]}: each image's pooled head-input features (the image as given), standardised
     *     inside the graph by the per-feature mean and standard deviation of the training images of the class the
     *     model predicts for it, so that frames like the training parts average to zero and spread one whatever the
     *     share of defects
     * @param reference {@code class}: the statistics are per predicted class
     * @param images the most images behind one class's statistics
     * @param adaptedFrom the package this one was adapted from by {@code vigil adapt} (null for a trained package)
     * @param excess how much the raw score of frames from parts the reference never saw exceeds 1 per frame of
     *     window (cross-fitted at training); the score reported is {@code raw / (1 + window * excess)}
     */
    public record Drift(String tensor, String reference, int images, String adaptedFrom, Double excess,
            InputFigures input) {
        public Drift(String tensor, String reference, int images, String adaptedFrom, Double excess) {
            this(tensor, reference, images, adaptedFrom, excess, null);
        }

        /** The score of a window of {@code window} frames whose raw score is {@code raw}: about 1 on frames like the
         * training parts'. */
        public double normalise(double raw, int window) {
            return raw / (1 + window * (excess == null ? 0 : excess));
        }
    }

    /**
     * The training images' per-channel mean and standard deviation as the network receives them (normalised units,
     * channels in the input's order, the letterbox padding left out; {@code dev.vigil.core.image.InputStatistics}),
     * a row per verdict class in label order; {@code images} = the images behind each row (at most 64 a class).
     * {@code vigil adapt} brings a new condition's frames back to them by rewriting {@code input.mean} and
     * {@code input.std}. Null in packages from before it was kept.
     */
    public record InputFigures(float[][] mean, float[][] std, int[] images) {}

    /**
     * @param file where the backbone file was when the package was trained (absolute; a hint: the registry keeps a
     *     copy of the file with this SHA-256 so that retraining needs no download; null in older packages)
     */
    public record BackboneRef(String name, String sha256, String file) {
        public BackboneRef(String name, String sha256) {
            this(name, sha256, null);
        }
    }

    public record Training(int unfrozenBlocks, String cut, List<String> taps, String pool, boolean randomInit,
            int epochs, int maxEpochs, int bestEpoch, float headLearningRate, float backboneLearningRate,
            int batchSize, long seed, List<String> augment, List<String> testTimeAugmentation, String datasetSha256, Map<String, Integer> trainCounts,
            Map<String, Integer> validationCounts, int skippedImages, String head, Float patchPoolR) {
        public Training withHead(String h) {
            return new Training(unfrozenBlocks, cut, taps, pool, randomInit, epochs, maxEpochs, bestEpoch,
                    headLearningRate, backboneLearningRate, batchSize, seed, augment, testTimeAugmentation,
                    datasetSha256, trainCounts, validationCounts, skippedImages, h, patchPoolR);
        }
    }

    /**
     * @param targetRecall null for a model from good parts alone (its threshold is placed by false rejects)
     * @param validationRecall defect recall at the threshold over out-of-fold scores (see report.json calibration);
     *     null when there were no defects to measure it on
     * @param recallLower95 its one-sided 95% lower confidence bound (null when there were no defects)
     * @param defects the defective images behind it (null for a model from good parts alone)
     */
    public record OperatingPointRef(double defectThreshold, Double targetRecall, Double validationRecall,
            double validationFalseRejectRate, Double recallLower95, Integer defects) {}
}
