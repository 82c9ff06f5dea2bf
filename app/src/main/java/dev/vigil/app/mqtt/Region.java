package dev.vigil.app.mqtt;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.vigil.core.model.DefectMap;

/**
 * Where on the part the model sees the defect: the peak cell of its defect map, in pixels of the inspected image (the
 * frame after the camera's ROI crop, which is also the stored sample's JPEG): {@code [x, x + width) x [y, y +
 * height)}, origin top left. Part of {@link AlertPayload} and {@link InspectionPayload}; null when the model has no
 * defect map.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record Region(int x, int y, int width, int height) {
    public Region {
        if (x < 0 || y < 0 || width < 0 || height < 0) {
            throw new IllegalArgumentException("region x=" + x + " y=" + y + " width=" + width + " height=" + height
                    + " must not be negative");
        }
    }

    /** The peak region of {@code map}; null when there is no map. */
    public static Region of(DefectMap map) {
        if (map == null) {
            return null;
        }
        DefectMap.Region r = map.region();
        return new Region(r.x(), r.y(), r.width(), r.height());
    }
}
