package dev.vigil.app.capture;

import dev.vigil.config.DeviceConfig;
import dev.vigil.core.image.OpenCv;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfPoint;
import org.opencv.core.Point;
import org.opencv.core.Rect;
import org.opencv.core.Scalar;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

/**
 * A simulated production line, so that the service demonstrates itself with no camera and no data: every frame
 * shows a round cast part (a disc with hub, bore and bolt holes; sand-cast grain, mottling, a lighting gradient and
 * slight position jitter) on a conveyor belt, with sensor noise and exposure jitter. With probability
 * {@code defectRate} a part carries one or more defects: {@linkplain Defect#SCRATCH scratches} (thin bright or dark
 * lines), {@linkplain Defect#SPOT spots} (dark blobs), {@linkplain Defect#CRACK cracks} (jagged dark polylines) and
 * {@linkplain Defect#DENT dents} (shaded ellipses).
 *
 * <p>Deterministic: frame {@code n} depends only on the seed, {@code n} and the settings, so the same seed renders
 * the same line (on the same OpenCV build). {@link #open()} starts again at frame 0. The defect decision is drawn
 * after everything else, so the same seed with another defect rate renders the same parts, with or without
 * defects. {@link #lastDefects()} gives the ground truth of the last frame.
 *
 * <p>Fast: the textures are rendered once in {@code open()}; a frame is a copy, a masked copy, the defects, one
 * noise addition and one exposure pass (about 1-3 ms at 640x480). Never finishes; never throws in {@code read()}.
 */
public final class SyntheticSource implements FrameSource {
    /** The ground truth of a synthetic part. */
    public enum Defect {
        /** A good part. */
        NONE,
        /** A thin straight line, bright (bare metal) or dark. */
        SCRATCH,
        /** A dark blob. */
        SPOT,
        /** A jagged dark polyline, sometimes branched. */
        CRACK,
        /** A shaded ellipse: dark on the side towards the light, bright on the other. */
        DENT
    }

    private static final Defect[] KINDS = {Defect.SCRATCH, Defect.SPOT, Defect.CRACK, Defect.DENT};
    /** Sensor noise is uniform in [-NOISE, NOISE] grey levels. */
    private static final int NOISE = 6;
    /** The noise texture is this much larger than the frame; each frame takes a random window of it. */
    private static final int NOISE_MARGIN = 32;

    private final int width;
    private final int height;
    private final double defectRate;
    private final long seed;

    private Mat belt;
    private Mat part;
    private Mat partMask;
    private Mat noise;
    private int radius;
    private long index;
    private List<Defect> lastDefects = List.of();
    private String lastName;

    /**
     * @param width frame width in pixels (at least 16)
     * @param height frame height in pixels (at least 16)
     * @param defectRate share of parts with at least one defect, 0..1
     * @param seed the random seed
     */
    public SyntheticSource(int width, int height, double defectRate, long seed) {
        if (width < 16 || height < 16) {
            throw new IllegalArgumentException("synthetic source: frame " + width + "x" + height
                    + " is too small; set source.width and source.height to 16 or more");
        }
        if (!(defectRate >= 0 && defectRate <= 1)) {
            throw new IllegalArgumentException("synthetic source: defectRate " + defectRate
                    + " must be between 0 and 1");
        }
        this.width = width;
        this.height = height;
        this.defectRate = defectRate;
        this.seed = seed;
    }

    /** A synthetic source with the size, defect rate and seed of {@code source}. */
    public SyntheticSource(DeviceConfig.Source source) {
        this(source.width(), source.height(), source.defectRate(), source.seed());
    }

    @Override
    public synchronized void open() {
        OpenCv.load();
        releaseTextures();
        SplittableRandom r = new SplittableRandom(mix(seed, -1));
        radius = (int) Math.round(Math.min(width, height) * 0.36);
        belt = renderBelt(r);
        int size = 2 * radius + 5;
        part = renderCasting(r, size);
        partMask = Mat.zeros(size, size, CvType.CV_8UC1);
        Imgproc.circle(partMask, new Point(size / 2, size / 2), radius, new Scalar(255), -1, Imgproc.LINE_8);
        noise = randomBytes(r, height + NOISE_MARGIN, width + NOISE_MARGIN, 2 * NOISE + 1);
        index = 0;
        lastDefects = List.of();
        lastName = null;
    }

    /** The next {@link #read} renders frame {@code n} (each frame depends only on the seed and its index). */
    public synchronized void skipTo(long n) {
        index = n;
    }

    @Override
    public synchronized Mat read() {
        if (belt == null) {
            throw new IllegalStateException("synthetic source: read() before open()");
        }
        long n = index++;
        SplittableRandom r = new SplittableRandom(mix(seed, n));
        int jitter = Math.max(2, (int) Math.round(Math.min(width, height) * 0.03));
        int cx = width / 2 + r.nextInt(-jitter, jitter + 1);
        int cy = height / 2 + r.nextInt(-jitter, jitter + 1);
        double gain = 0.93 + 0.14 * r.nextDouble();
        double offset = -8 + 16 * r.nextDouble();
        int nx = r.nextInt(NOISE_MARGIN);
        int ny = r.nextInt(NOISE_MARGIN);
        boolean defective = r.nextDouble() < defectRate;

        Mat frame = belt.clone();
        pasteMasked(part, partMask, frame, cx - part.cols() / 2, cy - part.rows() / 2);
        List<Defect> defects = new ArrayList<>(3);
        if (defective) {
            double k = r.nextDouble();
            int count = k < 0.75 ? 1 : k < 0.95 ? 2 : 3;
            for (int i = 0; i < count; i++) {
                Defect d = KINDS[r.nextInt(KINDS.length)];
                drawDefect(frame, d, cx, cy, r);
                defects.add(d);
            }
        }
        Mat window = noise.submat(ny, ny + height, nx, nx + width);
        Core.add(frame, window, frame);
        window.release();
        frame.convertTo(frame, -1, gain, offset - NOISE * gain);
        lastDefects = List.copyOf(defects);
        lastName = String.format(Locale.ROOT, "synthetic-%06d-%s", n,
                defects.isEmpty() ? "ok" : defects.get(0).name().toLowerCase(Locale.ROOT));
        return frame;
    }

    /** The first defect of the last frame, {@link Defect#NONE} for a good part (or before the first frame). */
    public synchronized Defect lastDefect() {
        return lastDefects.isEmpty() ? Defect.NONE : lastDefects.get(0);
    }

    /** All defects of the last frame, in drawing order; empty for a good part. */
    public synchronized List<Defect> lastDefects() {
        return lastDefects;
    }

    /** {@code synthetic-000042-scratch}: the frame number and the first defect ({@code ok} for a good part). */
    @Override
    public synchronized String lastName() {
        return lastName == null ? describe() : lastName;
    }

    /** Frames rendered since {@link #open()}. */
    public synchronized long framesRendered() {
        return index;
    }

    @Override
    public boolean finished() {
        return false;
    }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "synthetic line %dx%d, defect rate %.2f, seed %d", width, height,
                defectRate, seed);
    }

    @Override
    public synchronized void close() {
        releaseTextures();
    }

    private void releaseTextures() {
        release(belt, part, partMask, noise);
        belt = part = partMask = noise = null;
    }

    // ---- textures (once per open) -------------------------------------------------------------------------

    /** A dark conveyor belt: streaks along the direction of travel, fine noise, a vignette. */
    private Mat renderBelt(SplittableRandom r) {
        Mat streaksLow = randomField(r, height, Math.max(2, width / 48));
        Mat streaks = new Mat();
        Imgproc.resize(streaksLow, streaks, new Size(width, height), 0, 0, Imgproc.INTER_LINEAR);
        Mat fine = randomField(r, height, width);
        Mat light = shading(height, width, width / 2.0, height / 2.0, Math.hypot(width, height) / 2, -10, 0, 8);
        Mat grey = new Mat(height, width, CvType.CV_32FC1, new Scalar(50));
        Core.scaleAdd(streaks, 7, grey, grey);
        Core.scaleAdd(fine, 4, grey, grey);
        Core.add(grey, light, grey);
        Mat bgr = toBgr(grey, new Scalar(3, 1, 0));
        release(streaksLow, streaks, fine, light, grey);
        return bgr;
    }

    /** A sand-cast disc with a raised hub, a bore and six bolt holes, lit from the top left. */
    private Mat renderCasting(SplittableRandom r, int size) {
        double c = size / 2;
        Mat grey = new Mat(size, size, CvType.CV_32FC1, new Scalar(132));
        Mat mottleLow = randomField(r, 10, 10);
        Mat mottle = new Mat();
        Imgproc.resize(mottleLow, mottle, new Size(size, size), 0, 0, Imgproc.INTER_CUBIC);
        Core.scaleAdd(mottle, 10, grey, grey);
        Mat grain = randomField(r, size, size);
        Imgproc.GaussianBlur(grain, grain, new Size(3, 3), 0.8);
        Core.scaleAdd(grain, 22, grey, grey);

        // Relief: machined features, sand pits; blurred so that edges are soft like a real lens sees them.
        Mat relief = Mat.zeros(size, size, CvType.CV_32FC1);
        Point centre = new Point(c, c);
        int pits = size * size / 1800;
        for (int i = 0; i < pits; i++) {
            Imgproc.circle(relief, new Point(r.nextInt(size), r.nextInt(size)), 1 + r.nextInt(2),
                    new Scalar(-12 - r.nextInt(14)), -1, Imgproc.LINE_AA);
        }
        Imgproc.circle(relief, centre, (int) (radius * 0.95), new Scalar(-16),
                Math.max(2, (int) (radius * 0.06)), Imgproc.LINE_AA);
        Imgproc.circle(relief, centre, (int) (radius * 0.40), new Scalar(16), -1, Imgproc.LINE_AA);
        Imgproc.circle(relief, centre, (int) (radius * 0.40), new Scalar(-30), Math.max(1, radius / 60),
                Imgproc.LINE_AA);
        Imgproc.circle(relief, centre, (int) (radius * 0.16), new Scalar(-100), -1, Imgproc.LINE_AA);
        double phase = r.nextDouble() * Math.PI / 3;
        for (int i = 0; i < 6; i++) {
            double a = phase + i * Math.PI / 3;
            Point hole = new Point(c + Math.cos(a) * radius * 0.64, c + Math.sin(a) * radius * 0.64);
            Imgproc.circle(relief, hole, Math.max(1, (int) (radius * 0.06)), new Scalar(-90), -1, Imgproc.LINE_AA);
        }
        Imgproc.GaussianBlur(relief, relief, new Size(5, 5), 1.2);
        Core.add(grey, relief, grey);
        Mat light = shading(size, size, c, c, radius, 18, 18, 22);
        Core.add(grey, light, grey);
        Mat bgr = toBgr(grey, new Scalar(2, 1, 0));
        release(mottleLow, mottle, grain, relief, light, grey);
        return bgr;
    }

    /**
     * Lighting: a linear gradient (brighter to the top left, {@code gx}/{@code gy} grey levels from the centre to
     * the edge) minus a radial fall-off of {@code falloff} grey levels at distance {@code reach}.
     */
    private static Mat shading(int rows, int cols, double cx, double cy, double reach, double gx, double gy,
            double falloff) {
        float[] v = new float[rows * cols];
        for (int y = 0; y < rows; y++) {
            double ny = (y - cy) / reach;
            for (int x = 0; x < cols; x++) {
                double nx = (x - cx) / reach;
                v[y * cols + x] = (float) (-gx * nx - gy * ny - falloff * (nx * nx + ny * ny));
            }
        }
        Mat m = new Mat(rows, cols, CvType.CV_32FC1);
        m.put(0, 0, v);
        return m;
    }

    /** Uniform noise in [-1, 1], one channel, float. */
    private static Mat randomField(SplittableRandom r, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        Mat m = new Mat(rows, cols, CvType.CV_32FC1);
        m.put(0, 0, v);
        return m;
    }

    /** Uniform bytes in [0, span), three channels. */
    private static Mat randomBytes(SplittableRandom r, int rows, int cols, int span) {
        byte[] v = new byte[rows * cols * 3];
        for (int i = 0; i < v.length; i++) {
            v[i] = (byte) r.nextInt(span);
        }
        Mat m = new Mat(rows, cols, CvType.CV_8UC3);
        m.put(0, 0, v);
        return m;
    }

    private static Mat toBgr(Mat grey, Scalar tint) {
        Mat g8 = new Mat();
        grey.convertTo(g8, CvType.CV_8U);
        Mat bgr = new Mat();
        Imgproc.cvtColor(g8, bgr, Imgproc.COLOR_GRAY2BGR);
        Core.add(bgr, tint, bgr);
        g8.release();
        return bgr;
    }

    // ---- per frame -------------------------------------------------------------------------------------------

    /** Copies {@code src} where {@code mask} is set into {@code dst} at (x, y), clipped to {@code dst}. */
    private static void pasteMasked(Mat src, Mat mask, Mat dst, int x, int y) {
        int x0 = Math.max(0, x);
        int y0 = Math.max(0, y);
        int x1 = Math.min(dst.cols(), x + src.cols());
        int y1 = Math.min(dst.rows(), y + src.rows());
        if (x1 <= x0 || y1 <= y0) {
            return;
        }
        Rect from = new Rect(x0 - x, y0 - y, x1 - x0, y1 - y0);
        Mat s = src.submat(from);
        Mat m = mask.submat(from);
        Mat d = dst.submat(new Rect(x0, y0, x1 - x0, y1 - y0));
        s.copyTo(d, m);
        release(s, m, d);
    }

    private void drawDefect(Mat frame, Defect kind, int cx, int cy, SplittableRandom r) {
        double a = r.nextDouble() * 2 * Math.PI;
        double rho = radius * (0.24 + 0.62 * r.nextDouble());
        Point p = new Point(cx + Math.cos(a) * rho, cy + Math.sin(a) * rho);
        int thin = Math.max(1, Math.min(width, height) / 480);
        switch (kind) {
            case SCRATCH -> {
                double dir = r.nextDouble() * Math.PI;
                double len = radius * (0.2 + 0.3 * r.nextDouble());
                Point q = new Point(p.x + Math.cos(dir) * len, p.y + Math.sin(dir) * len);
                double v = r.nextDouble() < 0.6 ? 200 + r.nextInt(30) : 55 + r.nextInt(25);
                Imgproc.line(frame, p, q, grey(v), thin, Imgproc.LINE_AA);
                // A fainter companion line: scratches rarely come alone.
                double off = 2 + r.nextDouble() * 2;
                Point o = new Point(-Math.sin(dir) * off, Math.cos(dir) * off);
                Point from = new Point(p.x + o.x + len * 0.2 * Math.cos(dir), p.y + o.y + len * 0.2 * Math.sin(dir));
                Imgproc.line(frame, from, new Point(q.x + o.x, q.y + o.y), grey((v + 132) / 2), thin,
                        Imgproc.LINE_AA);
            }
            case SPOT -> {
                // A stain or inclusion: an irregular cluster of dark blobs with soft edges (unlike the round holes).
                double rr = Math.max(2, radius * (0.035 + 0.035 * r.nextDouble()));
                double v = 35 + r.nextInt(35);
                int blobs = 3 + r.nextInt(4);
                for (int i = 0; i < blobs; i++) {
                    Point b = new Point(p.x + (r.nextDouble() - 0.5) * 1.6 * rr,
                            p.y + (r.nextDouble() - 0.5) * 1.6 * rr);
                    Size axes = new Size(rr * (0.4 + 0.6 * r.nextDouble()), rr * (0.3 + 0.5 * r.nextDouble()));
                    Imgproc.ellipse(frame, b, axes, r.nextDouble() * 180, 0, 360, grey(v + r.nextInt(20)), -1,
                            Imgproc.LINE_AA);
                }
                blur(frame, p, rr * 2.5 + 5, 5);
            }
            case CRACK -> {
                int segments = 8 + r.nextInt(9);
                double step = Math.max(2, radius * (0.02 + 0.03 * r.nextDouble()));
                double dir = r.nextDouble() * 2 * Math.PI;
                List<Point> pts = new ArrayList<>(segments + 1);
                pts.add(p);
                Point q = p;
                for (int i = 0; i < segments; i++) {
                    dir += (r.nextDouble() - 0.5) * 1.4;
                    q = new Point(q.x + Math.cos(dir) * step, q.y + Math.sin(dir) * step);
                    pts.add(q);
                }
                Scalar dark = grey(20 + r.nextInt(30));
                polyline(frame, pts, dark, thin);
                if (r.nextDouble() < 0.5) {
                    Point s = pts.get(pts.size() / 2);
                    List<Point> branch = new ArrayList<>();
                    branch.add(s);
                    double bdir = dir + (r.nextBoolean() ? 1 : -1) * (0.6 + r.nextDouble());
                    for (int i = 0; i < 3 + r.nextInt(3); i++) {
                        bdir += (r.nextDouble() - 0.5) * 1.2;
                        s = new Point(s.x + Math.cos(bdir) * step * 0.8, s.y + Math.sin(bdir) * step * 0.8);
                        branch.add(s);
                    }
                    polyline(frame, branch, dark, 1);
                }
            }
            case DENT -> {
                double ax = Math.max(3, radius * (0.06 + 0.07 * r.nextDouble()));
                double ay = ax * (0.5 + 0.4 * r.nextDouble());
                double angle = r.nextDouble() * 180;
                double sh = 0.3;
                Imgproc.ellipse(frame, p, new Size(ax, ay), angle, 0, 360, grey(122), -1, Imgproc.LINE_AA);
                // Concave: the wall towards the light (top left) is in shadow, the far wall catches the light.
                Imgproc.ellipse(frame, new Point(p.x - ax * sh, p.y - ay * sh), new Size(ax * 0.65, ay * 0.65),
                        angle, 0, 360, grey(92), -1, Imgproc.LINE_AA);
                Imgproc.ellipse(frame, new Point(p.x + ax * sh, p.y + ay * sh), new Size(ax * 0.6, ay * 0.6),
                        angle, 0, 360, grey(165), -1, Imgproc.LINE_AA);
                int k = (int) Math.max(3, ax * 0.7) | 1;
                blur(frame, p, ax * 1.6 + k, k);
            }
            default -> throw new IllegalArgumentException(kind.name());
        }
    }

    private static void polyline(Mat frame, List<Point> pts, Scalar colour, int thickness) {
        MatOfPoint line = new MatOfPoint();
        Point[] rounded = pts.stream().map(q -> new Point(Math.round(q.x), Math.round(q.y))).toArray(Point[]::new);
        line.fromArray(rounded);
        Imgproc.polylines(frame, List.of(line), false, colour, thickness, Imgproc.LINE_AA);
        line.release();
    }

    /** Gaussian blur of the square of half-size {@code half} around {@code p}, in place. */
    private static void blur(Mat frame, Point p, double half, int kernel) {
        int x0 = (int) Math.max(0, p.x - half);
        int y0 = (int) Math.max(0, p.y - half);
        int x1 = (int) Math.min(frame.cols(), p.x + half);
        int y1 = (int) Math.min(frame.rows(), p.y + half);
        if (x1 - x0 < kernel || y1 - y0 < kernel) {
            return;
        }
        Mat region = frame.submat(y0, y1, x0, x1);
        Imgproc.GaussianBlur(region, region, new Size(kernel, kernel), 0);
        region.release();
    }

    private static Scalar grey(double v) {
        return new Scalar(v + 2, v + 1, v);
    }

    private static void release(Mat... mats) {
        for (Mat m : mats) {
            if (m != null) {
                m.release();
            }
        }
    }

    /** A well-mixed seed for frame {@code n} (SplitMix64 finaliser), so that frames do not share random streams. */
    static long mix(long seed, long n) {
        long z = seed * 0xBF58476D1CE4E5B9L + n * 0x94D049BB133111EBL + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
