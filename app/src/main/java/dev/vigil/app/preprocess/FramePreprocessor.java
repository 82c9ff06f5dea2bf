package dev.vigil.app.preprocess;

import dev.vigil.core.image.ImageIo;
import dev.vigil.core.image.Preprocessing;
import org.opencv.core.Mat;

/**
 * The preprocess stage: a captured frame (BGR {@link Mat}) becomes the model's input tensor — resize or letterbox,
 * colour order, scale, mean and std, as the package's manifest says ({@link Preprocessing}, the same implementation
 * the trainer uses, through {@link ImageIo#tensor}, which always releases the intermediate image).
 */
public final class FramePreprocessor {
    private FramePreprocessor() {}

    /** Writes {@code frame}'s tensor for {@code pre} into {@code dst} from {@code offset}. */
    public static void into(Mat frame, Preprocessing pre, float[] dst, int offset) {
        ImageIo.tensor(frame, pre, dst, offset);
    }

    /** {@code frame}'s tensor for {@code pre}, in a new array. */
    public static float[] tensor(Mat frame, Preprocessing pre) {
        float[] t = new float[pre.valuesPerImage()];
        into(frame, pre, t, 0);
        return t;
    }

    /** The tensors of {@code frames}, back to back: a batch. */
    public static float[] batch(java.util.List<Mat> frames, Preprocessing pre) {
        float[] out = new float[frames.size() * pre.valuesPerImage()];
        for (int i = 0; i < frames.size(); i++) {
            into(frames.get(i), pre, out, i * pre.valuesPerImage());
        }
        return out;
    }
}
