package dev.vigil.core.model;


import dev.vigil.core.VigilException;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.image.OpenCv;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Point;
import org.opencv.core.Rect;
import org.opencv.core.Scalar;
import org.opencv.core.Size;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/**
 * Where a model thinks the defect is: the {@code defect_map} output of one image ({@link Manifest.Output#defectMap()}),
 * a {@code width x height} grid of scores in [0,1] laid evenly over the network input, together with the geometry that
 * ties the input back to the frame it came from. The one implementation the trainer's {@code vigil classify
 * --heatmap} and the service's alerts, stored heatmaps and page share.
 *
 * <p>Cell {@code (column, row)} covers input pixels {@code [column*W/width, (column+1)*W/width) x [row*H/height,
 * (row+1)*H/height)} ({@code W x H} = the input size). Every mapping from input to frame pixels goes through
 * {@link Preprocessing.Placement#toFrame}, so letterbox padding and stretched aspect ratios are undone the same way
 * everywhere. Cells that lie wholly in letterbox padding cover no frame pixel and are never the {@link #peak()}.
 *
 * <pre>{@code
 * DefectMap map = classifier.classify(bgr).defectMap();   // null when the package has no map
 * DefectMap.Region where = map.region();                  // the peak cell, in frame pixels
 * byte[] stored = map.toPng();                            // the grid as 8-bit grayscale: tens of bytes
 * byte[] shown = map.overlayPng(bgr);                     // JET colours blended over the image, peak boxed
 * }</pre>
 *
 * <p>Immutable: {@link #values()} returns a copy. The OpenCV methods allocate and release their own Mats; a Mat they
 * return belongs to the caller.
 *
 * @param width grid columns ({@code w} of the {@code [N,1,h,w]} output)
 * @param height grid rows
 * @param values row-major scores, {@code width * height} of them, each in [0,1]
 * @param geometry the network input and the frame the map belongs to
 */
public record DefectMap(int width, int height, float[] values, Geometry geometry) {
    /** Share of the colour map in {@link #overlay}: 40% map, 60% image. */
    public static final double OVERLAY_WEIGHT = 0.4;

    public DefectMap {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("defect map grid " + width + "x" + height + " is empty");
        }
        if (values == null || values.length != width * height) {
            throw new IllegalArgumentException("defect map grid " + width + "x" + height + " needs " + width * height
                    + " values, found " + (values == null ? "none" : values.length));
        }
        if (geometry == null) {
            throw new IllegalArgumentException("defect map without geometry");
        }
        float[] v = new float[values.length];
        for (int i = 0; i < v.length; i++) {
            float x = values[i];
            v[i] = Float.isNaN(x) ? 0f : Math.max(0f, Math.min(1f, x));
        }
        values = v;
    }

    /**
     * How the network input relates to the frame: the input size and where the frame lies inside it.
     *
     * @param inputWidth network input width ({@code W})
     * @param inputHeight network input height ({@code H})
     * @param frameWidth the frame (after any ROI crop) the input was made from
     * @param frameHeight its height
     * @param placement {@link Preprocessing#placement} of the frame in the input
     */
    public record Geometry(int inputWidth, int inputHeight, int frameWidth, int frameHeight,
            Preprocessing.Placement placement) {
        public Geometry {
            if (inputWidth < 1 || inputHeight < 1 || frameWidth < 1 || frameHeight < 1 || placement == null) {
                throw new IllegalArgumentException("defect map geometry: input " + inputWidth + "x" + inputHeight
                        + ", frame " + frameWidth + "x" + frameHeight + ", placement " + placement
                        + " (every size must be positive)");
            }
        }

        /** The geometry of a {@code frameWidth x frameHeight} frame fed through {@code p}. */
        public static Geometry of(Preprocessing p, int frameWidth, int frameHeight) {
            return new Geometry(p.width(), p.height(), frameWidth, frameHeight, p.placement(frameWidth, frameHeight));
        }
    }

    /** A rectangle in frame pixels: {@code [x, x + width) x [y, y + height)}. */
    public record Region(int x, int y, int width, int height) {
        public boolean contains(double px, double py) {
            return px >= x && px < x + width && py >= y && py < y + height;
        }

        @com.fasterxml.jackson.annotation.JsonIgnore // not a property: JSON has x, y, width, height only
        public boolean isEmpty() {
            return width <= 0 || height <= 0;
        }
    }

    /**
     * The highest-scoring cell that covers part of the frame.
     *
     * @param column grid column
     * @param row grid row
     * @param score its score, 0..1
     * @param x centre of its {@link #region} in frame pixels
     * @param y centre of its region in frame pixels
     * @param region the cell in frame pixels, clamped to the frame
     */
    public record Peak(int column, int row, float score, int x, int y, Region region) {}

    /**
     * The {@code defect_map} output of a whole batch, {@code [count, 1, height, width]} floats, as the runtime returned
     * it; {@link #map} cuts out one image's map.
     */
    public record Batch(int count, int width, int height, float[] values) {
        public Batch {
            if ((long) count * width * height != values.length) {
                throw new IllegalArgumentException("defect map batch " + count + "x1x" + height + "x" + width
                        + " needs " + (long) count * width * height + " values, found " + values.length);
            }
        }

        /**
         * Checks the shape an output reported: it must be {@code [count, 1, h, w]}.
         *
         * @param what names the model and output in the message
         */
        public static Batch of(float[] flat, long[] shape, int count, String what) {
            if (shape.length != 4 || shape[0] != count || shape[1] != 1 || shape[2] < 1 || shape[3] < 1) {
                throw new VigilException(what + " has shape " + Arrays.toString(shape) + "; a defect map must be ["
                        + count + ", 1, h, w]: the package is not one this Vigil can read, retrain it");
            }
            return new Batch(count, (int) shape[3], (int) shape[2], flat);
        }

        /** Image {@code index}'s map, for a frame placed in the input as {@code geometry} says. */
        public DefectMap map(int index, Geometry geometry) {
            int n = width * height;
            return new DefectMap(width, height, Arrays.copyOfRange(values, index * n, (index + 1) * n), geometry);
        }
    }

    /** Scores, row-major (a copy). */
    @Override
    public float[] values() {
        return values.clone();
    }

    public float score(int column, int row) {
        return values[row * width + column];
    }

    /** Cell {@code (column, row)} in frame pixels (clamped to the frame; empty for a cell wholly in padding). */
    public Region region(int column, int row) {
        Preprocessing.Placement at = geometry.placement();
        int fw = geometry.frameWidth();
        int fh = geometry.frameHeight();
        double x0 = column * (double) geometry.inputWidth() / width;
        double x1 = (column + 1) * (double) geometry.inputWidth() / width;
        double y0 = row * (double) geometry.inputHeight() / height;
        double y1 = (row + 1) * (double) geometry.inputHeight() / height;
        double[] a = at.toFrame(x0, y0, fw, fh);
        double[] b = at.toFrame(x1, y1, fw, fh);
        // a hair of slack so that 200.00000000000003 is pixel 200, not 201
        int left = clamp((int) Math.floor(a[0] + 1e-6), fw);
        int top = clamp((int) Math.floor(a[1] + 1e-6), fh);
        int right = clamp((int) Math.ceil(b[0] - 1e-6), fw);
        int bottom = clamp((int) Math.ceil(b[1] - 1e-6), fh);
        return new Region(left, top, Math.max(0, right - left), Math.max(0, bottom - top));
    }

    private static int clamp(int v, int max) {
        return Math.max(0, Math.min(max, v));
    }

    /**
     * The highest-scoring cell that covers at least one frame pixel (the first such in row-major order on ties), with
     * its region and centre in frame pixels.
     */
    public Peak peak() {
        int best = -1;
        Region bestRegion = null;
        for (int i = 0; i < values.length; i++) {
            if (best >= 0 && values[i] <= values[best]) {
                continue;
            }
            Region r = region(i % width, i / width);
            if (!r.isEmpty()) {
                best = i;
                bestRegion = r;
            }
        }
        if (best < 0) { // cannot happen with a real placement (the frame covers at least one input pixel)
            best = 0;
            bestRegion = region(0, 0);
        }
        return new Peak(best % width, best / width, values[best], bestRegion.x() + bestRegion.width() / 2,
                bestRegion.y() + bestRegion.height() / 2, bestRegion);
    }

    /** The peak cell in frame pixels: where an alert says the defect is. */
    public Region region() {
        return peak().region();
    }

    // ---- encodings ---------------------------------------------------------------------------------------------

    /** The grid as an 8-bit grayscale PNG, {@code round(score * 255)} per cell: what the service stores. */
    public byte[] toPng() {
        OpenCv.load();
        byte[] px = new byte[values.length];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) Math.round(values[i] * 255f);
        }
        Mat grid = new Mat(height, width, CvType.CV_8UC1);
        try {
            grid.put(0, 0, px);
            return encode(grid, "defect map");
        } finally {
            grid.release();
        }
    }

    /** Reads a grid written by {@link #toPng()} back (scores to 1/255). */
    public static DefectMap fromPng(byte[] png, Geometry geometry) {
        OpenCv.load();
        MatOfByte buf = new MatOfByte(png);
        Mat grid = Imgcodecs.imdecode(buf, Imgcodecs.IMREAD_GRAYSCALE);
        buf.release();
        try {
            if (grid.empty()) {
                throw new VigilException("a stored defect map is not a readable PNG");
            }
            byte[] px = new byte[grid.rows() * grid.cols()];
            grid.get(0, 0, px);
            float[] v = new float[px.length];
            for (int i = 0; i < v.length; i++) {
                v[i] = (px[i] & 0xff) / 255f;
            }
            return new DefectMap(grid.cols(), grid.rows(), v, geometry);
        } finally {
            grid.release();
        }
    }

    // ---- pictures ----------------------------------------------------------------------------------------------

    /**
     * The map in frame geometry at {@code outWidth x outHeight} (the frame's size, or a size of the same aspect), 8-bit
     * ({@code score * 255}): the grid bilinearly upsampled to the input size, the frame's part of the input cut out
     * (letterbox padding dropped, through the {@link Preprocessing.Placement}), and that resized to the output.
     */
    public Mat frameScores(int outWidth, int outHeight) {
        OpenCv.load();
        Preprocessing.Placement at = geometry.placement();
        Mat grid = new Mat(height, width, CvType.CV_32FC1);
        Mat input = new Mat();
        Mat out = new Mat();
        try {
            grid.put(0, 0, values);
            Imgproc.resize(grid, input, new Size(geometry.inputWidth(), geometry.inputHeight()), 0, 0,
                    Imgproc.INTER_LINEAR);
            int x = Math.max(0, Math.min(geometry.inputWidth() - 1, at.offsetX()));
            int y = Math.max(0, Math.min(geometry.inputHeight() - 1, at.offsetY()));
            int w = Math.max(1, Math.min(geometry.inputWidth() - x, at.width()));
            int h = Math.max(1, Math.min(geometry.inputHeight() - y, at.height()));
            Mat content = input.submat(new Rect(x, y, w, h));
            Mat scaled = new Mat();
            Imgproc.resize(content, scaled, new Size(outWidth, outHeight), 0, 0, Imgproc.INTER_LINEAR);
            content.release();
            scaled.convertTo(out, CvType.CV_8UC1, 255.0);
            scaled.release();
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        } finally {
            grid.release();
            input.release();
        }
    }

    /**
     * The image with the map over it: colour-mapped (OpenCV JET: blue low, red high), blended at
     * {@link #OVERLAY_WEIGHT} over {@code bgr} (the frame this map belongs to, or that frame scaled), and the peak cell
     * boxed in white. A new BGR Mat; the caller releases it.
     */
    public Mat overlay(Mat bgr) {
        OpenCv.load();
        if (bgr.channels() != 3) {
            throw new IllegalArgumentException("overlay needs a BGR image, got " + bgr.channels() + " channels");
        }
        Mat scores = frameScores(bgr.cols(), bgr.rows());
        Mat colours = new Mat();
        Mat out = new Mat();
        try {
            Imgproc.applyColorMap(scores, colours, Imgproc.COLORMAP_JET);
            Core.addWeighted(bgr, 1 - OVERLAY_WEIGHT, colours, OVERLAY_WEIGHT, 0, out);
            Region r = scaledRegion(region(), bgr.cols(), bgr.rows());
            int thick = Math.max(1, Math.round(Math.min(bgr.cols(), bgr.rows()) / 150f));
            Imgproc.rectangle(out, new Point(r.x(), r.y()), new Point(r.x() + r.width() - 1, r.y() + r.height() - 1),
                    new Scalar(255, 255, 255), thick);
            return out;
        } finally {
            scores.release();
            colours.release();
        }
    }

    /** {@link #overlay} as PNG bytes. */
    public byte[] overlayPng(Mat bgr) {
        Mat o = overlay(bgr);
        try {
            return encode(o, "heatmap overlay");
        } finally {
            o.release();
        }
    }

    /**
     * The map alone at the frame's size, ready to lay over the image: JET colours, alpha = score (transparent where
     * the model sees nothing). A PNG with an alpha channel; what the service's heatmap endpoint serves.
     */
    public byte[] transparentPng() {
        Mat scores = frameScores(geometry.frameWidth(), geometry.frameHeight());
        Mat colours = new Mat();
        Mat bgra = new Mat();
        List<Mat> planes = new ArrayList<>();
        try {
            Imgproc.applyColorMap(scores, colours, Imgproc.COLORMAP_JET);
            Core.split(colours, planes);
            planes.add(scores);
            Core.merge(planes, bgra);
            return encode(bgra, "heatmap");
        } finally {
            for (int i = 0; i < planes.size() - 1; i++) {
                planes.get(i).release();
            }
            scores.release();
            colours.release();
            bgra.release();
        }
    }

    private Region scaledRegion(Region r, int cols, int rows) {
        if (cols == geometry.frameWidth() && rows == geometry.frameHeight()) {
            return r;
        }
        double sx = cols / (double) geometry.frameWidth();
        double sy = rows / (double) geometry.frameHeight();
        int x = (int) Math.floor(r.x() * sx);
        int y = (int) Math.floor(r.y() * sy);
        return new Region(x, y, Math.max(1, (int) Math.ceil((r.x() + r.width()) * sx) - x),
                Math.max(1, (int) Math.ceil((r.y() + r.height()) * sy) - y));
    }

    private static byte[] encode(Mat m, String what) {
        MatOfByte png = new MatOfByte();
        try {
            if (!Imgcodecs.imencode(".png", m, png)) {
                throw new IllegalStateException("OpenCV could not encode the " + what + " as PNG");
            }
            return png.toArray();
        } finally {
            png.release();
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DefectMap d && d.width == width && d.height == height && Arrays.equals(d.values, values)
                && d.geometry.equals(geometry);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values) * 31 + geometry.hashCode();
    }

    @Override
    public String toString() {
        Peak p = peak();
        return String.format(Locale.ROOT, "DefectMap[%dx%d, peak %.3f at cell (%d,%d) = frame %s]", width, height,
                p.score(), p.column(), p.row(), p.region());
    }
}
