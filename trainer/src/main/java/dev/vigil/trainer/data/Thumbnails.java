package dev.vigil.trainer.data;

import dev.vigil.core.image.ImageIo;

import dev.vigil.core.VigilException;
import java.nio.file.Path;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

/**
 * A small grey picture of an image with its brightness and contrast taken out: the vector near-duplicate grouping
 * compares. Two photographs of one part under other light, or consecutive frames of it, have nearly the same
 * thumbnail (cosine above 0.999 measured for a 5-10% brighter copy of a KolektorSDD image), while different parts of
 * a very uniform product still differ (0.1-0.4 between different commutator images). Deep features are a worse
 * signal for this: a change of light moves them more than the difference between two similar parts.
 */
public final class Thumbnails {
    /** Side of the square thumbnail (every image is brought to it, so vectors of mixed sizes compare). */
    public static final int SIDE = 32;

    private Thumbnails() {}

    /** The thumbnail of an image file: {@code SIDE x SIDE} grey values, mean 0, standard deviation 1. */
    public static float[] of(Path file) {
        Mat bgr = ImageIo.decode(ImageIo.read(file), file.toString());
        Mat grey = new Mat();
        Mat small = new Mat();
        Mat f = new Mat();
        try {
            Imgproc.cvtColor(bgr, grey, Imgproc.COLOR_BGR2GRAY);
            Imgproc.resize(grey, small, new Size(SIDE, SIDE), 0, 0, Imgproc.INTER_AREA);
            small.convertTo(f, CvType.CV_32F);
            float[] v = new float[SIDE * SIDE];
            f.get(0, 0, v);
            double mean = 0;
            for (float x : v) {
                mean += x;
            }
            mean /= v.length;
            double var = 0;
            for (float x : v) {
                var += (x - mean) * (x - mean);
            }
            double sd = Math.sqrt(var / v.length) + 1e-6;
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) ((v[i] - mean) / sd);
            }
            return v;
        } catch (RuntimeException e) {
            throw new VigilException("cannot make a thumbnail of " + file + ": " + e.getMessage());
        } finally {
            bgr.release();
            grey.release();
            small.release();
            f.release();
        }
    }
}
