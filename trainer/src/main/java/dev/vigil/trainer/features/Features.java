package dev.vigil.trainer.features;

import dev.vigil.trainer.onnx.OnnxTensors;

/**
 * The prefix's output for one image variant.
 *
 * @param cutMap the feature map at the cut, CHW (empty when no suffix is trained, or when held as {@code cutHalf})
 * @param pooled the pooled vectors of the prefix taps, concatenated
 * @param cutHalf the same map in half precision (IEEE binary16 bits), or null: patch-feature maps of large images
 *     are kept like this in memory and on disk, at half the size (they feed a linear head; binary16 keeps three
 *     significant digits)
 */
public record Features(float[] cutMap, float[] pooled, short[] cutHalf) {
    public Features(float[] cutMap, float[] pooled) {
        this(cutMap, pooled, null);
    }

    /** Values in the cut map. */
    public int cutLength() {
        return cutHalf != null ? cutHalf.length : cutMap.length;
    }

    /** Writes the cut map as floats into {@code dst} from {@code offset}. */
    public void copyCut(float[] dst, int offset) {
        if (cutHalf == null) {
            System.arraycopy(cutMap, 0, dst, offset, cutMap.length);
            return;
        }
        for (int i = 0; i < cutHalf.length; i++) {
            dst[offset + i] = OnnxTensors.halfToFloat(cutHalf[i]);
        }
    }

    /** The cut map as floats (a copy when held in half precision). */
    public float[] cutFloats() {
        if (cutHalf == null) {
            return cutMap;
        }
        float[] out = new float[cutHalf.length];
        copyCut(out, 0);
        return out;
    }
}
