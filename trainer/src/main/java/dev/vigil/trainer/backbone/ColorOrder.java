package dev.vigil.trainer.backbone;

/** Channel order a network expects. OpenCV decodes to BGR. */
public enum ColorOrder {
    RGB,
    BGR
}
