package dev.vigil.trainer.adapt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.image.ImageIo;
import dev.vigil.core.image.InputStatistics;
import dev.vigil.core.image.OpenCv;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.bench.Shift;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Scalar;

/**
 * The input alignment of {@code vigil adapt}: real casting images made darker (brightness × 0.6) reach the network,
 * under the aligned normalisation, as the undarkened ones did under the training normalisation.
 */
class InputStatisticsTest {
    private static final Preprocessing PRE = Preprocessing.imagenet(224)
            .withGeometry(224, 224, Preprocessing.Fit.LETTERBOX);

    @Test
    void darkerFramesAreBroughtBackBeforeTheFirstLayer() throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.list(SharedAssets.casting().resolve("train/defective"))) {
            files = s.sorted().limit(12).toList();
        }
        InputStatistics train = new InputStatistics(PRE);
        InputStatistics dark = new InputStatistics(PRE);
        byte[][] darkBytes = new byte[files.size()][];
        for (int i = 0; i < files.size(); i++) {
            byte[] b = ImageIo.read(files.get(i));
            train.add(b, files.get(i).toString());
            darkBytes[i] = Shift.DARKER.apply(b, files.get(i).toString(), i);
            dark.add(darkBytes[i], "dark " + i);
        }
        InputStatistics.Channels reference = InputStatistics.normalised(train.pixels(), PRE);
        InputStatistics.Channels frames = dark.pixels();
        for (int c = 0; c < 3; c++) {
            assertEquals(0.6, frames.mean()[c] / train.pixels().mean()[c], 0.01, "channel " + c + " mean");
            assertEquals(0.6, frames.std()[c] / train.pixels().std()[c], 0.01, "channel " + c + " spread");
        }
        Preprocessing aligned = InputStatistics.alignedTo(PRE, frames, reference);
        double alignedError = 0;
        double unalignedError = 0;
        for (int i = 0; i < files.size(); i++) {
            float[] want = ImageIo.preprocess(ImageIo.read(files.get(i)), PRE, Variant.ORIGINAL, "train");
            float[] got = ImageIo.preprocess(darkBytes[i], aligned, Variant.ORIGINAL, "dark");
            float[] raw = ImageIo.preprocess(darkBytes[i], PRE, Variant.ORIGINAL, "dark");
            alignedError += meanAbs(want, got) / files.size();
            unalignedError += meanAbs(want, raw) / files.size();
        }
        // one grey level is 0.017 in these units: what is left is rounding of the darkened pixels
        assertTrue(alignedError < 0.03, "aligned " + alignedError);
        assertTrue(unalignedError > 0.3, "unaligned " + unalignedError);

        // adapting an adapted normalisation starts from the reference again: the same result
        Preprocessing twice = InputStatistics.alignedTo(aligned, frames, reference);
        for (int c = 0; c < 3; c++) {
            assertEquals(aligned.mean()[c], twice.mean()[c], 1e-6);
            assertEquals(aligned.std()[c], twice.std()[c], 1e-6);
        }
        // frames like the training images leave the normalisation as it was
        Preprocessing same = InputStatistics.alignedTo(PRE, train.pixels(), reference);
        for (int c = 0; c < 3; c++) {
            assertEquals(PRE.mean()[c], same.mean()[c], 1e-5);
            assertEquals(PRE.std()[c], same.std()[c], 1e-5);
        }
    }

    @Test
    void theLetterboxPaddingIsNotCountedAndFlatFramesKeepTheSpread() {
        OpenCv.load();
        Mat wide = new Mat(50, 200, CvType.CV_8UC3, new Scalar(40, 100, 200));
        InputStatistics s = new InputStatistics(PRE);
        s.add(wide);
        wide.release();
        InputStatistics.Channels px = s.pixels();
        // RGB order: the B,G,R = 40,100,200 image is 200,100,40
        assertEquals(200, px.mean()[0], 1e-3);
        assertEquals(100, px.mean()[1], 1e-3);
        assertEquals(40, px.mean()[2], 1e-3);
        assertEquals(0, px.std()[0], 1e-3);
        Preprocessing p = InputStatistics.alignedTo(PRE, px, new InputStatistics.Channels(new float[3],
                new float[] {1, 1, 1}, 10));
        assertEquals(PRE.std()[1], p.std()[1], 1e-6, "a flat channel keeps its spread");
    }

    @Test
    void classesPoolByTheirImages() {
        InputStatistics.Channels a = new InputStatistics.Channels(new float[] {0, 0, 0}, new float[] {1, 1, 1}, 1);
        InputStatistics.Channels b = new InputStatistics.Channels(new float[] {2, 2, 2}, new float[] {1, 1, 1}, 3);
        InputStatistics.Channels p = InputStatistics.pooled(List.of(a, b));
        assertEquals(1.5, p.mean()[0], 1e-6);
        // E[x^2] = (1*1 + 3*5) / 4 = 4, var = 4 - 2.25
        assertEquals(Math.sqrt(1.75), p.std()[0], 1e-6);
        assertEquals(4, p.images());
    }

    private static double meanAbs(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += Math.abs(a[i] - b[i]);
        }
        return s / a.length;
    }
}
