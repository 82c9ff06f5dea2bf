package dev.vigil.core.image;


import dev.vigil.core.VigilException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.opencv.core.Core;
import org.opencv.core.Mat;

/**
 * Augmentations suited to surface inspection: a part's surface has no "up", so flips and quarter turns keep the
 * label; small brightness shifts mimic lighting drift. Each variant's features are computed once and cached.
 */
public enum Variant {
    ORIGINAL,
    HFLIP,
    VFLIP,
    ROT90,
    ROT180,
    ROT270,
    TRANSPOSE,
    /** Mirror about the anti-diagonal: with the seven above, the whole dihedral group of the square. */
    TRANSVERSE,
    BRIGHTER,
    DARKER;

    /** Brightness shift of {@link #BRIGHTER}/{@link #DARKER}, in 8-bit levels. */
    public static final double BRIGHTNESS_SHIFT = 20;

    /** Applies this variant to a BGR image (returns a new Mat; the input is untouched). */
    public Mat apply(Mat in) {
        Mat out = new Mat();
        switch (this) {
            case ORIGINAL -> in.copyTo(out);
            case HFLIP -> Core.flip(in, out, 1);
            case VFLIP -> Core.flip(in, out, 0);
            case ROT90 -> Core.rotate(in, out, Core.ROTATE_90_CLOCKWISE);
            case ROT180 -> Core.rotate(in, out, Core.ROTATE_180);
            case ROT270 -> Core.rotate(in, out, Core.ROTATE_90_COUNTERCLOCKWISE);
            case TRANSPOSE -> Core.transpose(in, out);
            case TRANSVERSE -> {
                Mat t = new Mat();
                Core.transpose(in, t);
                Core.rotate(t, out, Core.ROTATE_180);
                t.release();
            }
            case BRIGHTER -> in.convertTo(out, -1, 1.0, BRIGHTNESS_SHIFT);
            case DARKER -> in.convertTo(out, -1, 1.0, -BRIGHTNESS_SHIFT);
        }
        return out;
    }

    /** The eight symmetries of a square part (flips and quarter turns): the default augmentation. */
    public static final String DIHEDRAL = "hflip,vflip,rot90,rot180,rot270,transpose,transverse";

    /** True for the quarter turns and transposes, which swap width and height. */
    public boolean swapsSides() {
        return this == ROT90 || this == ROT270 || this == TRANSPOSE || this == TRANSVERSE;
    }

    /** True for flips and turns, which test-time augmentation can also apply inside the exported graph. */
    public boolean geometric() {
        return this != BRIGHTER && this != DARKER;
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code "hflip,vflip,rot90"}; the original is always included first. */
    public static List<Variant> parseList(String spec) {
        if (spec == null || spec.isBlank() || spec.equalsIgnoreCase("none")) {
            return List.of(ORIGINAL);
        }
        List<Variant> out = new java.util.ArrayList<>(List.of(ORIGINAL));
        for (String s : spec.split(",")) {
            String t = s.trim().toUpperCase(Locale.ROOT);
            Variant v;
            try {
                v = Variant.valueOf(t);
            } catch (IllegalArgumentException e) {
                throw new VigilException("--augment: unknown variant '" + s.trim() + "'; use a comma-separated list of "
                        + Arrays.stream(values()).map(Variant::id).collect(Collectors.joining(", ")) + ", or none");
            }
            if (!out.contains(v)) {
                out.add(v);
            }
        }
        return List.copyOf(out);
    }
}
