package dev.vigil.trainer.features;

/**
 * The prefix's output for one image variant.
 *
 * @param cutMap the feature map at the cut, CHW (empty when no suffix is trained)
 * @param pooled the pooled vectors of the prefix taps, concatenated
 */
public record Features(float[] cutMap, float[] pooled) {}
