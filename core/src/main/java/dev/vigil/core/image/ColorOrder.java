package dev.vigil.core.image;


/** Channel order a network expects. OpenCV decodes to BGR. */
public enum ColorOrder {
    RGB,
    BGR
}
