package dev.vigil.app.samples;

import dev.vigil.core.image.OpenCv;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.MatOfInt;
import org.opencv.core.Size;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/**
 * A sample's grid thumbnail: the stored JPEG scaled so its longest side is {@link #LONGEST} pixels (area
 * interpolation; never enlarged), grey images kept grey, encoded as JPEG at quality {@link #QUALITY}.
 */
public final class Thumbnails {
    /** Longest side in pixels: a grid tile is 9rem (about 144 CSS px), so 160 is sharp at 1x and fair at 2x. */
    public static final int LONGEST = 160;
    public static final int QUALITY = 80;

    private Thumbnails() {}

    /** The thumbnail of {@code jpeg}; when the image is already small and re-encoding would not shrink it, itself. */
    public static byte[] make(byte[] jpeg) {
        OpenCv.load();
        Mat src = Imgcodecs.imdecode(new MatOfByte(jpeg), Imgcodecs.IMREAD_UNCHANGED);
        Mat small = new Mat();
        MatOfByte out = new MatOfByte();
        try {
            if (src.empty()) {
                throw new IllegalArgumentException("the stored image cannot be decoded as a JPEG");
            }
            int longest = Math.max(src.cols(), src.rows());
            Mat use = src;
            if (longest > LONGEST) {
                double f = (double) LONGEST / longest;
                Imgproc.resize(src, small, new Size(Math.max(1, Math.round(src.cols() * f)),
                        Math.max(1, Math.round(src.rows() * f))), 0, 0, Imgproc.INTER_AREA);
                use = small;
            }
            Imgcodecs.imencode(".jpg", use, out, new MatOfInt(Imgcodecs.IMWRITE_JPEG_QUALITY, QUALITY));
            byte[] thumb = out.toArray();
            return longest <= LONGEST && thumb.length >= jpeg.length ? jpeg : thumb;
        } finally {
            src.release();
            small.release();
            out.release();
        }
    }
}
