package dev.vigil.trainer.features;

/**
 * The prefix's output for one image variant.
 *
 * @param cut the feature map at the cut, CHW ({@link CutMap#EMPTY} when no suffix is trained); patch-feature maps are
 *     cell-major and in half precision (they feed a linear head; binary16 keeps three significant digits)
 * @param pooled the pooled vectors of the prefix taps, concatenated
 */
public record Features(CutMap cut, float[] pooled) {
    public static Features ofFloats(float[] cutMap, float[] pooled) {
        return new Features(cutMap.length == 0 ? CutMap.EMPTY : new CutMap.Floats(cutMap), pooled);
    }

    /** Values in the cut map. */
    public int cutLength() {
        return cut.length();
    }

    /** Writes the cut map as floats into {@code dst} from {@code offset}. */
    public void copyCut(float[] dst, int offset) {
        cut.copyTo(dst, offset);
    }

    /** The cut map as floats (a copy unless held in memory as floats). */
    public float[] cutFloats() {
        return cut.floats();
    }

    /** The same features with the cut map read from {@code onDisk} instead of memory. */
    public Features streamed(CutMap.OnDisk onDisk) {
        return new Features(onDisk, pooled);
    }
}
