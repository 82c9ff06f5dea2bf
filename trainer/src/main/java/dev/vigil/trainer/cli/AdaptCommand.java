package dev.vigil.trainer.cli;

import dev.vigil.core.VigilException;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.trainer.adapt.Adaptation;
import dev.vigil.trainer.data.ImageDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vigil adapt}: a model package brought to a new camera, lens, lighting or product variant. */
@Command(name = "adapt", mixinStandardHelpOptions = true, description = "Adapt model package PKG to a new condition"
        + " (camera, lens, lighting, product variant) from unlabelled frames of it: the feature statistics the head"
        + " and the drift watch standardise with are re-estimated on the frames, and with --labelled the head is"
        + " fine-tuned on a few labelled ones. Writes a new package (a candidate: evaluate, shadow and promote it like"
        + " any other) and prints the drift score before and after.")
public final class AdaptCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "PKG", description = "the package to adapt")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "unlabelled frames of the new"
            + " condition (every image under DIR, sub-folders included)")
    Path data;

    @Option(names = "--labelled", paramLabel = "DIR2", description = "a few labelled frames of the new condition,"
            + " one folder per class named like the model's classes (5 per class is enough to help)")
    Path labelled;

    @Option(names = "--out", required = true, paramLabel = "PKG2", description = "where to write the adapted package")
    Path out;

    @Option(names = "--reference", paramLabel = "good|all", description = "what the frames are like: good (mostly"
            + " good parts, as on a line; default) or all (the training set's mix of classes)")
    String reference = Adaptation.Options.defaults().reference();

    @Option(names = "--input", paramLabel = "auto|on|off", description = "re-estimate the input normalisation too"
            + " (per channel mean and std, so that the frames reach the network with the training images' mean and"
            + " spread: undoes a change of exposure, gain or white balance): auto (default) tries with and without"
            + " and keeps the one whose drift score on frames not used for the statistics is lower; for packages"
            + " that keep their training images' figures")
    String input = "auto";

    @Option(names = "--progress", paramLabel = "text|json", description = "progress as text for a person (default)"
            + " or as one JSON object a line for a program (the service reads it)")
    String progress = "text";

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        dev.vigil.trainer.util.Progress.mode(progress, "adapt");
        // the options first: a wrong value is named before any file is read
        Adaptation.Options options = Adaptation.Options.defaults().withReference(reference).withInput(input);
        ModelPackage pkg = ModelPackage.open(model);
        List<Path> frames = images(data);
        ImageDataset lab = labelled == null ? null : ImageDataset.scan(labelled, 1);
        Adaptation.Result r = new Adaptation(pkg, options, System.err).adapt(frames, lab, out);
        System.out.printf(Locale.ROOT, "adapted package %s (id %s) from %s on %d frames%n", out,
                r.pkg().manifest().id(), pkg.manifest().id(), r.frames());
        System.out.printf(Locale.ROOT, "  drift score (about 1 = like the training parts): %.2f before, %.2f after"
                + " (in-sample)%s%n", r.driftBefore(), r.driftAfter(), Double.isNaN(r.heldOutAfter()) ? ""
                        : String.format(Locale.ROOT, "; on frames not used for the statistics %.2f -> %.2f",
                                r.heldOutBefore(), r.heldOutAfter()));
        if (r.labelled() > 0) {
            System.out.printf(Locale.ROOT, "  accuracy on the %d labelled frames: %.4f before, %.4f after (the head"
                    + " was fine-tuned on them: in-sample)%n", r.labelled(), r.labelledAccuracyBefore(),
                    r.labelledAccuracyAfter());
        }
        System.out.println("  the operating point is the source package's: evaluate the adapted package on labelled"
                + " frames of the new condition before promoting it");
        return 0;
    }

    /** Every image file under {@code dir}, in name order. */
    static List<Path> images(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new VigilException("--data " + dir + " is not a folder; give the folder of the new condition's"
                    + " frames");
        }
        try (Stream<Path> s = Files.walk(dir)) {
            List<Path> out = s.filter(Files::isRegularFile)
                    .filter(ImageDataset::isImageName).sorted().toList();
            if (out.isEmpty()) {
                throw new VigilException("--data " + dir + " holds no images (.jpg, .png, .bmp...); give the folder"
                        + " of the new condition's frames");
            }
            return out;
        }
    }
}
