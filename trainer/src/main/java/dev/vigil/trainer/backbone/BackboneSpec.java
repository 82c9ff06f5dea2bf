package dev.vigil.trainer.backbone;

import dev.vigil.core.image.Preprocessing;

import java.util.List;

/**
 * A backbone the catalog knows: where to download it, the SHA-256 it must have, how to feed it, and its block
 * boundaries (cut points, in order; the last is the feature map the ImageNet classifier reads; empty = found by graph
 * analysis when the file is first loaded).
 */
public record BackboneSpec(String name, String fileName, String url, String sha256, long sizeBytes,
        Preprocessing preprocessing, List<String> blocks, String description) {
    public BackboneSpec {
        blocks = List.copyOf(blocks);
    }
}
