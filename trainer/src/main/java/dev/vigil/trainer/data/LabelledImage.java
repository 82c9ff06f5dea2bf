package dev.vigil.trainer.data;

import java.nio.file.Path;

/** One image of a dataset and the index of its class. */
public record LabelledImage(Path path, int label) {}
