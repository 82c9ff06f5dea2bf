package dev.vigil.trainer.backbone;

import dev.vigil.core.image.Preprocessing;

import dev.vigil.trainer.onnx.GraphAnatomy;
import dev.vigil.trainer.onnx.OnnxGraph;
import java.nio.file.Path;

/**
 * A backbone ready to cut: its graph (fp16 already widened to fp32), what analysis found in it, how to feed it, and
 * where it came from.
 *
 * @param name catalog name, or the file name for a user-supplied file
 * @param sha256 hash of the file as given (before any conversion)
 */
public record Backbone(String name, Path file, String sha256, OnnxGraph graph, GraphAnatomy anatomy,
        Preprocessing preprocessing, boolean fromCatalog) {}
