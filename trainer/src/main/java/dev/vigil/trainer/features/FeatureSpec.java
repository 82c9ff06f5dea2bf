package dev.vigil.trainer.features;

import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.Hashing;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What the frozen prefix computes for one image: the feature map at the cut (when a trainable suffix follows) and
 * pooled vectors of the feature maps tapped inside the prefix, or the {@link PatchFeatures} map, cell-major ({@code
 * h*w} rows of {@code C} values) in half precision. Its key names a feature-cache folder: a change of
 * backbone, input size, cut, taps or pooling gives another key, so stale features are never reused.
 */
public record FeatureSpec(String backboneSha256, Preprocessing preprocessing, String cut, boolean needsCutMap,
        List<String> prefixTaps, PoolMode pool) {
    public FeatureSpec {
        prefixTaps = List.copyOf(prefixTaps);
    }

    /** True when the prefix computes {@link PatchFeatures} (the cut is {@link PatchFeatures#TENSOR}). */
    public boolean patches() {
        return PatchFeatures.TENSOR.equals(cut);
    }

    public String key() {
        // patch maps are kept cell-major in half precision ("v2")
        String text = (patches() ? "v2|" : "v1|") + backboneSha256 + "|" + preprocessing + "|" + cut + "|" + needsCutMap + "|"
                + prefixTaps + "|" + pool;
        return Hashing.sha256(text.getBytes(StandardCharsets.UTF_8)).substring(0, 20);
    }
}
