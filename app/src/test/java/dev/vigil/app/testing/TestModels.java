package dev.vigil.app.testing;

import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.model.ModelExporter;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TransferTrainer;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;

/** Small real model packages for service tests: the shared SqueezeNet fine-tuned on a few casting images. */
public final class TestModels {
    private TestModels() {}

    /**
     * Trains a package on images {@code [from, from + perClass)} of each class of the casting training split
     * ({@code defective}, {@code ok}), head only, without cross-validation folds (no service test reads how the
     * operating point was placed; the folds cost most of the time); {@code seed} makes different packages from the
     * same images.
     */
    public static Path casting(Path work, String name, int from, int perClass, int epochs, long seed)
            throws Exception {
        return casting(work, name, from, perClass, epochs, seed, 0);
    }

    /**
     * As {@link #casting(Path, String, int, int, int, long)} with {@code folds} cross-validation folds (0: none): a
     * package with out-of-fold figures, for the tests that read them.
     */
    public static Path casting(Path work, String name, int from, int perClass, int epochs, long seed, int folds)
            throws Exception {
        Path subset = SharedAssets.subset(SharedAssets.casting().resolve("train"), work.resolve(name + "-data"), from,
                perClass);
        Backbone bb = new BackboneResolver(work.resolve("models"), s -> { }).resolve(
                SharedAssets.squeezenet().toString());
        try (TransferTrainer t = new TransferTrainer(bb, ImageDataset.scan(subset, 2),
                TrainOptions.defaults().withUnfreeze(0).withEpochs(epochs).withSeed(seed).withFolds(folds),
                work.resolve("features"),
                new PrintStream(OutputStream.nullOutputStream()))) {
            t.train();
            return new ModelExporter(t).write(work.resolve(name)).dir();
        }
    }

    /**
     * Links {@code count} images of each class of a casting split, from index {@code from}, into {@code to} as
     * {@code defective-NN.jpeg} and {@code ok-NN.jpeg}: a folder camera's frames whose true class is in the name.
     */
    public static void linkFrames(Path split, Path to, int from, int count) throws Exception {
        java.nio.file.Files.createDirectories(to);
        for (String cls : java.util.List.of("defective", "ok")) {
            java.util.List<Path> imgs;
            try (java.util.stream.Stream<Path> s = java.nio.file.Files.list(split.resolve(cls))) {
                imgs = s.sorted().skip(from).limit(count).toList();
            }
            for (int i = 0; i < imgs.size(); i++) {
                java.nio.file.Files.createSymbolicLink(to.resolve(String.format("%s-%02d.jpeg", cls, from + i)),
                        imgs.get(i).toAbsolutePath());
            }
        }
    }
}
