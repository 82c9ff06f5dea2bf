package dev.vigil.core.image;


import dev.vigil.core.VigilException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.opencv.core.Core;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Scalar;
import org.opencv.core.Size;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/** Decoding and preprocessing of images with OpenCV: the same code path for training and for serving. */
public final class ImageIo {
    private ImageIo() {}

    /** Decodes encoded image bytes (JPEG, PNG, BMP, TIFF...) to a BGR Mat; grayscale becomes 3-channel. */
    public static Mat decode(byte[] bytes, String what) {
        OpenCv.load();
        Mat m;
        try (var buf = new Closer(new MatOfByte(bytes))) {
            m = Imgcodecs.imdecode(buf.mat(), Imgcodecs.IMREAD_COLOR);
        }
        if (m == null || m.empty()) {
            throw new VigilException(what + " is not a readable image (OpenCV could not decode it);"
                    + " give a JPEG, PNG, BMP or TIFF file");
        }
        return m;
    }

    public static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new VigilException("cannot read image " + file + ": " + e.getMessage());
        }
    }

    /**
     * Brings a BGR image to the network's input size as {@link Preprocessing#fit()} says: stretched, or scaled keeping
     * its aspect ratio and centred on the mean colour (area interpolation when shrinking, linear otherwise). The
     * one implementation the trainer, the evaluator and the service share.
     */
    public static Mat resize(Mat bgr, Preprocessing p) {
        Preprocessing.Placement at = p.placement(bgr.cols(), bgr.rows());
        Mat out = fitted(bgr, p);
        if (at.width() == p.width() && at.height() == p.height()) {
            return out;
        }
        Mat padded = new Mat();
        int right = p.width() - at.width() - at.offsetX();
        int bottom = p.height() - at.height() - at.offsetY();
        Core.copyMakeBorder(out, padded, at.offsetY(), bottom, at.offsetX(), right, Core.BORDER_CONSTANT,
                new Scalar(p.padBgr()));
        out.release();
        return padded;
    }

    /**
     * The image scaled to its place inside the input ({@link Preprocessing#placement}), without the letterbox
     * padding: what {@link #resize} pads (area interpolation when shrinking, linear otherwise); a new Mat.
     */
    public static Mat fitted(Mat bgr, Preprocessing p) {
        Preprocessing.Placement at = p.placement(bgr.cols(), bgr.rows());
        Mat out = new Mat();
        boolean shrink = bgr.cols() > at.width() || bgr.rows() > at.height();
        int interpolation = shrink ? Imgproc.INTER_AREA : Imgproc.INTER_LINEAR;
        if (at.width() == bgr.cols() && at.height() == bgr.rows()) {
            bgr.copyTo(out);
        } else {
            Imgproc.resize(bgr, out, new Size(at.width(), at.height()), 0, 0, interpolation);
        }
        return out;
    }

    /** Writes a resized BGR image of exactly the network's size into {@code out} as CHW floats. */
    public static void toTensor(Mat resizedBgr, Preprocessing p, float[] out, int offset) {
        if (resizedBgr.cols() != p.width() || resizedBgr.rows() != p.height() || resizedBgr.channels() != 3) {
            throw new IllegalArgumentException("expected a " + p.width() + "x" + p.height() + " BGR image");
        }
        byte[] bgr = new byte[p.width() * p.height() * 3];
        resizedBgr.get(0, 0, bgr);
        p.toChw(bgr, out, offset);
    }

    /**
     * A decoded BGR image of any size to the network's CHW floats, written into {@code out} from {@code offset}:
     * {@link #resize} then {@link #toTensor}, the intermediate image always released; {@code bgr} is left as it is.
     */
    public static void tensor(Mat bgr, Preprocessing p, float[] out, int offset) {
        Mat resized = resize(bgr, p);
        try {
            toTensor(resized, p, out, offset);
        } finally {
            resized.release();
        }
    }

    /** Decode, resize, preprocess: encoded bytes to the network's CHW floats. */
    public static float[] preprocess(byte[] encoded, Preprocessing p, Variant variant, String what) {
        float[] out = new float[p.valuesPerImage()];
        Mat decoded = decode(encoded, what);
        Mat resized = resize(decoded, p);
        Mat varied = variant.apply(resized);
        try {
            toTensor(varied, p, out, 0);
        } finally {
            decoded.release();
            resized.release();
            varied.release();
        }
        return out;
    }

    private record Closer(MatOfByte mat) implements AutoCloseable {
        @Override
        public void close() {
            mat.release();
        }
    }
}
