package dev.vigil.trainer.anomaly;

import dev.vigil.core.image.Preprocessing;
import dev.vigil.trainer.features.PatchFeatures;
import java.util.List;

/**
 * Where an anomaly model reads the backbone: the input geometry, the tapped blocks (counted back from the final
 * features, as {@code --taps} gives them, and their tensor names), how the taps lie on one grid, and the side of the
 * neighbourhood each patch vector is averaged over.
 */
public record AnomalyPlan(Preprocessing preprocessing, List<Integer> tapBlocks, List<String> taps,
        PatchFeatures.Layout layout, int neighbourhood) {
    public AnomalyPlan {
        tapBlocks = List.copyOf(tapBlocks);
        taps = List.copyOf(taps);
    }

    /** Patch vectors per image (grid cells). */
    public int cells() {
        return layout.gridHeight() * layout.gridWidth();
    }

    public int channels() {
        return layout.channels();
    }
}
