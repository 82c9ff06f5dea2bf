package dev.vigil.app.samples;

import dev.vigil.core.model.DefectMap;

/**
 * A sample's stored defect map: the grid as an 8-bit grayscale PNG beside the JPEG ({@link DefectMap#toPng()}, tens
 * of bytes), and what it takes to draw it over the image and to say where the defect is without reading it.
 *
 * @param file the PNG, relative to the store's folder ({@code samples/<day>/<id>.heatmap.png})
 * @param peakScore the highest score of a cell that covers the image, 0..1
 * @param region that cell in pixels of the sample's image
 * @param geometry the network input and the image size, for mapping the grid onto the image
 */
public record SampleHeatmap(String file, float peakScore, DefectMap.Region region, DefectMap.Geometry geometry) {}
