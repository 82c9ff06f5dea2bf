package dev.vigil.trainer.train;

import dev.vigil.core.VigilException;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.trainer.backbone.Tiling;
import java.util.List;
import java.util.Locale;

/**
 * What the user asked for the network input's size: nothing ({@link #AUTO}: chosen from the training images), a
 * square side ({@code --size}), a width and height ({@code --input WxH}) or a longest side ({@code --long-side}).
 * {@link #resolve} turns it into the {@link Preprocessing} a package records; images always keep their aspect ratio
 * ({@link Preprocessing.Fit#LETTERBOX}), so parts are never warped and mixed sizes share one input.
 *
 * <p>The backbones are fully convolutional, so an input larger than their native 224 px simply gives larger feature
 * maps: a 20 px crack in a 500x1247 image shrunk to 224 px tall would be 4 px and pooled away; at the automatic
 * geometry it stays 16 px or more.
 */
public record InputGeometry(int width, int height, int longSide, Tiling tiles) {
    public static final InputGeometry AUTO = new InputGeometry(0, 0, 0);

    public InputGeometry(int width, int height, int longSide) {
        this(width, height, longSide, null);
    }

    /** This geometry cut into {@code t} ({@code --tiles}; null = one forward pass over the whole input). */
    public InputGeometry withTiles(Tiling t) {
        return new InputGeometry(width, height, longSide, t);
    }
    /** Inputs are rounded up to a multiple of this: every stride-2 stage of the backbones then divides evenly. */
    public static final int ALIGN = 32;
    /** The automatic geometry never makes the longest side larger than this (cost grows with the pixel count). */
    public static final int AUTO_MAX_LONG_SIDE = 1024;
    public static final int MIN_SIDE = 32;
    public static final int MAX_SIDE = 4096;

    public InputGeometry {
        for (int[] v : new int[][] {{width, 0}, {height, 1}, {longSide, 2}}) {
            if (v[0] != 0 && (v[0] < MIN_SIDE || v[0] > MAX_SIDE)) {
                throw new VigilException(String.format(Locale.ROOT, "%s %d is outside %d..%d pixels; give a size the"
                        + " backbone can take, e.g. --input 512x1280 or --long-side 1024", v[1] == 2 ? "--long-side"
                        : v[1] == 0 ? "input width" : "input height", v[0], MIN_SIDE, MAX_SIDE));
            }
        }
        if ((width == 0) != (height == 0)) {
            throw new VigilException("--input needs both a width and a height (WxH), found " + width + "x" + height);
        }
        if (width != 0 && longSide != 0) {
            throw new VigilException("give either --input/--size or --long-side, not both");
        }
    }

    public static InputGeometry square(int side) {
        return side == 0 ? AUTO : new InputGeometry(side, side, 0);
    }

    /** Parses {@code --input WxH} (e.g. {@code 512x1280}). */
    public static InputGeometry parse(String wxh) {
        String[] parts = wxh.trim().toLowerCase(Locale.ROOT).split("x");
        try {
            if (parts.length == 2) {
                return new InputGeometry(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()), 0);
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new VigilException("--input '" + wxh + "' is not WIDTHxHEIGHT; give e.g. --input 512x1280");
    }

    public boolean auto() {
        return width == 0 && longSide == 0;
    }

    /**
     * The input for these images: {@link #resolveWhole} and, with {@link #tiles}, the canvas those tiles cover
     * exactly ({@link Tiling#canvas}).
     */
    public Preprocessing resolve(Preprocessing nativePre, List<int[]> sizes) {
        Preprocessing whole = resolveWhole(nativePre, sizes);
        return tiles == null ? whole : tiles.canvas(whole);
    }

    /**
     * The input for these images on a backbone whose native input is {@code nativePre}, before any tiling.
     *
     * @param sizes width and height of (a sample of) the training images; may be empty
     */
    Preprocessing resolveWhole(Preprocessing nativePre, List<int[]> sizes) {
        if (width != 0) {
            return nativePre.withGeometry(width, height, Preprocessing.Fit.LETTERBOX);
        }
        int nativeSide = Math.max(nativePre.width(), nativePre.height());
        if (sizes.isEmpty()) {
            return nativePre.withGeometry(nativePre.width(), nativePre.height(), Preprocessing.Fit.LETTERBOX);
        }
        int w = median(sizes, 0);
        int h = median(sizes, 1);
        int longest = Math.max(w, h);
        double aspect = longest / (double) Math.min(w, h);
        int target;
        if (longSide != 0) {
            target = longSide;
        } else if (longest <= nativeSide * 3 / 2 && aspect <= 1.25) {
            // small, nearly square images (NEU 200 px, casting 300 px): the backbone's own input is right
            return nativePre.withGeometry(nativePre.width(), nativePre.height(), Preprocessing.Fit.LETTERBOX);
        } else {
            target = Math.max(nativeSide, Math.min(longest, AUTO_MAX_LONG_SIDE));
        }
        double s = target / (double) longest;
        int iw = Math.max(MIN_SIDE, alignUp((int) Math.round(w * s)));
        int ih = Math.max(MIN_SIDE, alignUp((int) Math.round(h * s)));
        return nativePre.withGeometry(Math.min(MAX_SIDE, iw), Math.min(MAX_SIDE, ih), Preprocessing.Fit.LETTERBOX);
    }

    private static int alignUp(int v) {
        return (v + ALIGN - 1) / ALIGN * ALIGN;
    }

    private static int median(List<int[]> sizes, int axis) {
        int[] v = sizes.stream().mapToInt(s -> s[axis]).sorted().toArray();
        return v[v.length / 2];
    }

    @Override
    public String toString() {
        return (auto() ? "auto" : width != 0 ? width + "x" + height : "long side " + longSide)
                + (tiles == null ? "" : ", tiles " + tiles);
    }

    /**
     * A warning when the images come in clearly different sizes (the longest side of the quarter largest more than
     * 1.5x that of the quarter smallest), naming the two; null when they are alike.
     */
    public static String mixedSizes(List<int[]> sizes) {
        if (sizes.size() < 4) {
            return null;
        }
        List<int[]> byLongest = sizes.stream().sorted(java.util.Comparator.comparingInt(s -> Math.max(s[0], s[1])))
                .toList();
        int[] small = byLongest.get(byLongest.size() / 4);
        int[] large = byLongest.get(byLongest.size() * 3 / 4);
        if (Math.max(large[0], large[1]) <= 1.5 * Math.max(small[0], small[1])) {
            return null;
        }
        return "the training images come in different sizes (e.g. " + small[0] + "x" + small[1] + " and " + large[0]
                + "x" + large[1] + ")";
    }

    /** Width and height of each image (decoded with OpenCV); unreadable ones are left out. */
    public static List<int[]> measure(List<java.nio.file.Path> images) {
        return images.stream().map(p -> {
            try {
                org.opencv.core.Mat m = dev.vigil.core.image.ImageIo.decode(dev.vigil.core.image.ImageIo.read(p),
                        p.toString());
                int[] s = {m.cols(), m.rows()};
                m.release();
                return s;
            } catch (VigilException e) {
                return null;
            }
        }).filter(java.util.Objects::nonNull).toList();
    }
}
