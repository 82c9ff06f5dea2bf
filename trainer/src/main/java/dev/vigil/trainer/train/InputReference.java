package dev.vigil.trainer.train;

import dev.vigil.core.image.ImageIo;
import dev.vigil.core.image.InputStatistics;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.model.Manifest;
import dev.vigil.trainer.data.LabelledImage;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The training images' per-channel input figures for the package ({@code output.drift.input}): per verdict class, at
 * most {@link #PER_CLASS} of its images (a seeded choice), measured by {@link InputStatistics} and written in the
 * network's normalised units. {@code vigil adapt} aligns a new condition's frames to them.
 */
public final class InputReference {
    /** Images a class: the per-channel mean and spread of 64 images vary by well under a grey level. */
    public static final int PER_CLASS = 64;

    private InputReference() {}

    /**
     * @param labels each image's verdict class, {@code -1} for none (left out)
     * @return null when no image has a verdict
     */
    public static Manifest.InputFigures measure(List<LabelledImage> images, int[] labels, int classes,
            Preprocessing pre, long seed) {
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < classes; c++) {
            byClass.add(new ArrayList<>());
        }
        for (int i = 0; i < images.size(); i++) {
            if (labels[i] >= 0 && labels[i] < classes) {
                byClass.get(labels[i]).add(i);
            }
        }
        float[][] mean = new float[classes][];
        float[][] std = new float[classes][];
        int[] counts = new int[classes];
        boolean any = false;
        for (int c = 0; c < classes; c++) {
            List<Integer> idx = byClass.get(c);
            Collections.shuffle(idx, new Random(seed + 31L * c));
            InputStatistics stats = new InputStatistics(pre);
            for (int i : idx.subList(0, Math.min(PER_CLASS, idx.size()))) {
                var p = images.get(i).path();
                stats.add(ImageIo.read(p), p.toString());
            }
            if (stats.images() == 0) {
                mean[c] = new float[3];
                std[c] = new float[3];
                continue;
            }
            InputStatistics.Channels n = InputStatistics.normalised(stats.pixels(), pre);
            mean[c] = n.mean();
            std[c] = n.std();
            counts[c] = n.images();
            any = true;
        }
        return any ? new Manifest.InputFigures(mean, std, counts) : null;
    }

    /** The reference the frames are aligned to: the ok class's row ({@code okIndex >= 0}) or every class pooled. */
    public static InputStatistics.Channels reference(Manifest.InputFigures f, int okIndex) {
        if (okIndex >= 0 && okIndex < f.images().length && f.images()[okIndex] > 0) {
            return new InputStatistics.Channels(f.mean()[okIndex], f.std()[okIndex], f.images()[okIndex]);
        }
        List<InputStatistics.Channels> rows = new ArrayList<>();
        for (int c = 0; c < f.images().length; c++) {
            if (f.images()[c] > 0) {
                rows.add(new InputStatistics.Channels(f.mean()[c], f.std()[c], f.images()[c]));
            }
        }
        return InputStatistics.pooled(rows);
    }
}
