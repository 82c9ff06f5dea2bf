package dev.vigil.trainer.bench;

import dev.vigil.core.VigilException;
import dev.vigil.core.image.ImageIo;
import dev.vigil.core.image.OpenCv;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.MatOfInt;
import org.opencv.core.Size;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/**
 * A controlled change of imaging condition, applied to image files for the adaptation and drift benchmark: what a
 * dimmer lamp, another sensor response, a lens out of focus, a noisy sensor or a lower-quality encoder does to frames.
 */
public enum Shift {
    /** Brightness × 0.6 (a dimmer lamp). */
    DARKER("brightness x0.6"),
    /** Gamma 1.8 (another sensor response curve): {@code 255 · (v/255)^1.8}. */
    GAMMA("gamma 1.8"),
    /** Gaussian blur, σ 1.5 px (focus). */
    BLUR("gaussian blur sigma 1.5"),
    /** Gaussian sensor noise, σ 12 grey levels (seeded per image). */
    NOISE("sensor noise sigma 12"),
    /** JPEG at quality 30 (a cheaper encoder). */
    JPEG("jpeg quality 30");

    private final String description;

    Shift(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }

    /** The shifted image, encoded (PNG, lossless; JPEG q30 for {@link #JPEG}). */
    public byte[] apply(byte[] encoded, String what, long seed) {
        OpenCv.load();
        Mat src = ImageIo.decode(encoded, what);
        Mat dst = new Mat();
        try {
            switch (this) {
                case DARKER -> src.convertTo(dst, -1, 0.6, 0);
                case GAMMA -> {
                    Mat lut = new Mat(1, 256, CvType.CV_8U);
                    byte[] v = new byte[256];
                    for (int i = 0; i < 256; i++) {
                        v[i] = (byte) Math.round(255 * Math.pow(i / 255.0, 1.8));
                    }
                    lut.put(0, 0, v);
                    Core.LUT(src, lut, dst);
                    lut.release();
                }
                case BLUR -> Imgproc.GaussianBlur(src, dst, new Size(0, 0), 1.5);
                case NOISE -> {
                    Mat noise = new Mat(src.size(), CvType.CV_16SC(src.channels()));
                    Core.setRNGSeed((int) seed);
                    Core.randn(noise, 0, 12);
                    Mat wide = new Mat();
                    src.convertTo(wide, CvType.CV_16SC(src.channels()));
                    Core.add(wide, noise, wide);
                    wide.convertTo(dst, src.type());
                    noise.release();
                    wide.release();
                }
                case JPEG -> {
                    MatOfByte buf = new MatOfByte();
                    Imgcodecs.imencode(".jpg", src, buf, new MatOfInt(Imgcodecs.IMWRITE_JPEG_QUALITY, 30));
                    byte[] out = buf.toArray();
                    buf.release();
                    return out;
                }
                default -> throw new IllegalStateException(name());
            }
            MatOfByte buf = new MatOfByte();
            Imgcodecs.imencode(".png", dst, buf);
            byte[] out = buf.toArray();
            buf.release();
            return out;
        } finally {
            src.release();
            dst.release();
        }
    }

    /**
     * Writes the shifted copy of every image under {@code src} to the same relative place under {@code dst} (class
     * folders kept).
     */
    public void applyTree(Path src, Path dst) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(src)) {
            files = s.filter(Files::isRegularFile).filter(dev.vigil.trainer.data.ImageDataset::isImageName).sorted()
                    .toList();
        }
        Random rnd = new Random(ordinal());
        for (Path f : files) {
            Path rel = src.relativize(f);
            String name = rel.getFileName().toString();
            String base = name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : name;
            Path out = dst.resolve(rel).resolveSibling(base + (this == JPEG ? ".jpg" : ".png"));
            Files.createDirectories(out.getParent());
            Files.write(out, apply(ImageIo.read(f), f.toString(), rnd.nextLong()));
        }
        if (files.isEmpty()) {
            throw new VigilException(src + " holds no images to shift");
        }
    }
}
