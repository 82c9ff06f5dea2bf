package dev.vigil.trainer.combined;

import dev.vigil.core.model.Manifest;

import dev.vigil.core.VigilException;
import dev.vigil.trainer.anomaly.AnomalyExporter;
import dev.vigil.trainer.anomaly.AnomalyModel;
import dev.vigil.trainer.anomaly.AnomalyOptions;
import dev.vigil.trainer.anomaly.AnomalyTrainer;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.train.Heads;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TrainingResult;
import dev.vigil.trainer.train.TransferTrainer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The one place that decides which kind of package a labelled dataset gets, and trains and writes it — for
 * {@code vigil train} and for retraining on the device alike:
 *
 * <ul>
 *   <li>{@link Kind#ANOMALY}: only the good folder (or {@code --anomaly}): a memory of good parts;</li>
 *   <li>{@link Kind#COMBINED}: a good folder with at least {@value AnomalyOptions#MIN_GOOD_IMAGES} images and
 *       defect folders: the supervised head and a memory of good parts, joined ({@link CombinedTrainer});</li>
 *   <li>{@link Kind#SUPERVISED}: otherwise, or with {@link Combine#OFF}.</li>
 * </ul>
 */
public final class PackageTraining {
    private PackageTraining() {}

    /** Whether a memory of good parts joins the supervised head. */
    public enum Combine {
        /** When the dataset allows it (a good folder of enough images, defect folders). */
        AUTO,
        /** Always; a dataset that does not allow it is an error that says why. */
        ON,
        /** Never: the supervised head alone. */
        OFF;

        public static Combine parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new VigilException("--combine must be auto, on or off, found '" + s + "'");
            }
        }
    }

    public enum Kind {
        SUPERVISED,
        ANOMALY,
        COMBINED
    }

    /**
     * What was built: the package and, by kind, the supervised run's result, the memory and the combination (the
     * others null).
     */
    public record Built(Kind kind, ModelPackage pkg, TrainingResult supervised, AnomalyModel anomaly,
            CombinedModel combined) {}

    /**
     * Multiply-adds per frame the memory beside a supervised head may cost: its distances are cells × rows ×
     * channels, about 21 ms per 10^9 on the 2-core development machine, so this keeps the memory to about 50 ms a
     * frame whatever the input size (KolektorSDD at 416x1024 with the full 16384 rows took 930 ms a frame).
     */
    public static final double MEMORY_FLOPS_PER_FRAME = 2.5e9;
    /** The smallest memory a combined package keeps, whatever the budget says. */
    public static final int MIN_MEMORY_ROWS = 512;

    /** {@code anomaly} with its memory capped to {@link #MEMORY_FLOPS_PER_FRAME} at {@code perRow} per memory row. */
    static AnomalyOptions withinServingBudget(AnomalyOptions anomaly, double perRow) {
        int rows = (int) Math.max(MIN_MEMORY_ROWS, Math.min(anomaly.memorySize(), MEMORY_FLOPS_PER_FRAME / perRow));
        return anomaly.withMemory(rows, anomaly.coresetFraction());
    }

    /** Multiply-adds of one memory row's distances per frame (cells x channels) at the supervised head's input. */
    private static double distanceFlopsPerRow(TransferTrainer t, AnomalyOptions anomaly) {
        var plan = AnomalyTrainer.plan(t.backbone(), anomaly, t.plan().preprocessing());
        return (double) plan.cells() * plan.channels();
    }

    /** The kind of package {@code data} gets. */
    public static Kind kind(ImageDataset data, String okLabel, boolean anomalyAsked, Combine combine,
            boolean randomInit) {
        int ok = data.okIndex(okLabel);
        if (anomalyAsked || (data.classes().size() == 1 && ok == 0)) {
            return Kind.ANOMALY;
        }
        if (data.classes().size() == 1) {
            throw new VigilException("dataset " + data.root() + " has one class folder " + data.classes()
                    + "; a classifier needs at least two, and a model from good parts alone needs the good folder"
                    + " named ok, good, pass or normal (or --ok-label " + data.classes().get(0) + ")");
        }
        if (combine == Combine.OFF) {
            return Kind.SUPERVISED;
        }
        long good = ok < 0 ? 0 : data.images().stream().filter(i -> i.label() == ok).count();
        String why = ok < 0 ? "the dataset has no good-part folder (ok, good, pass or normal, or --ok-label)"
                : good < AnomalyOptions.MIN_GOOD_IMAGES ? "the good folder has " + good + " images; a memory of"
                        + " good parts needs at least " + AnomalyOptions.MIN_GOOD_IMAGES
                : randomInit ? "--init random compares architectures, not packages to deploy"
                : data.classes().contains(Manifest.ANOMALY_LABEL) ? "a class folder is named '"
                        + Manifest.ANOMALY_LABEL + "', the name of the class the memory adds: rename it"
                : null;
        if (why != null && combine == Combine.ON) {
            throw new VigilException("--combine on: " + why);
        }
        return why == null ? Kind.COMBINED : Kind.SUPERVISED;
    }

    /**
     * A multi-task package: every head of {@code heads} on one shared suffix, {@code data} being the verdict head's
     * view of the images ({@link Heads#dataset}). No memory of good parts joins it.
     */
    public static Built trainMultiTask(Backbone backbone, ImageDataset data, Heads heads, TrainOptions options,
            Path cache, Path out, PrintStream log) throws IOException {
        try (TransferTrainer t = new TransferTrainer(backbone, data, options, cache, log, heads)) {
            TrainingResult r = t.train();
            return new Built(Kind.SUPERVISED, new ModelExporter(t).write(out), r, null, null);
        }
    }

    /**
     * Trains a package of {@code kind} on {@code data} and writes it to {@code out}.
     *
     * @param anomaly the memory's options: for {@link Kind#ANOMALY} all of them; for {@link Kind#COMBINED} all but
     *     the input, which is the supervised head's
     * @param cache the supervised trainer's feature cache
     */
    public static Built train(Kind kind, Backbone backbone, ImageDataset data, TrainOptions options,
            AnomalyOptions anomaly, Path cache, Path out, PrintStream log) throws IOException {
        if (kind == Kind.ANOMALY) {
            AnomalyModel m = new AnomalyTrainer(backbone, data, anomaly, log).train();
            return new Built(kind, new AnomalyExporter(m).write(out), null, m, null);
        }
        try (TransferTrainer t = new TransferTrainer(backbone, data, options, cache, log)) {
            TrainingResult r = t.train();
            if (kind == Kind.SUPERVISED) {
                return new Built(kind, new ModelExporter(t).write(out), r, null, null);
            }
            double perRow = distanceFlopsPerRow(t, anomaly);
            AnomalyOptions bounded = withinServingBudget(anomaly, perRow);
            log.printf(Locale.ROOT, "a memory of good parts beside the supervised head (same input, %dx%d; at most"
                    + " %d rows, which keeps its distances to %.1f GFLOP per frame)%n",
                    t.plan().preprocessing().width(), t.plan().preprocessing().height(), bounded.memorySize(),
                    perRow * bounded.memorySize() / 1e9);
            // the supervised trainer's backbone: tiled as its input is when --tiles is given
            AnomalyModel memory = new AnomalyTrainer(t.backbone(), data, bounded, t.plan().preprocessing(), log)
                    .train();
            CombinedModel m = CombinedTrainer.combine(t, memory, options.targetRecall(), log);
            return new Built(kind, new CombinedExporter(m).write(out), r, memory, m);
        }
    }
}
