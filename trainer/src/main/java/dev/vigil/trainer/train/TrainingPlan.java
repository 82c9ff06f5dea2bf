package dev.vigil.trainer.train;

import dev.vigil.core.image.Preprocessing;
import dev.vigil.trainer.features.PoolMode;
import java.util.List;

/**
 * Where the backbone is cut and what feeds the head, resolved from {@link TrainOptions} and the backbone's anatomy.
 *
 * @param cut tensor where the frozen prefix ends (the graph input when training from scratch)
 * @param prefixTaps tapped tensors computed by the prefix (pooled once and cached)
 * @param suffixTaps tapped tensors computed by the trainable suffix (pooled in the network)
 */
public record TrainingPlan(Preprocessing preprocessing, String cut, String features, List<String> prefixTaps,
        List<String> suffixTaps, PoolMode pool, int unfreeze, boolean random, boolean patches) {
    public TrainingPlan {
        prefixTaps = List.copyOf(prefixTaps);
        suffixTaps = List.copyOf(suffixTaps);
    }

    public boolean hasSuffix() {
        return !cut.equals(features);
    }
}
