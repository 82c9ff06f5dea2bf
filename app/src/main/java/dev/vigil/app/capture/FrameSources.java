package dev.vigil.app.capture;

import dev.vigil.config.DeviceConfig;
import java.util.List;

/** Makes the {@link FrameSource} that a camera's {@code source} configuration asks for. */
public final class FrameSources {
    /** The source types known, as written in {@code cameras[i].source.type}. */
    public static final List<String> TYPES = List.of("synthetic", "folder", "mjpeg-file", "v4l2", "stream");

    private FrameSources() {}

    /**
     * The source for {@code source.type}. Nothing is opened yet.
     *
     * @throws IllegalArgumentException for an unknown type, or a setting the type needs that is missing
     */
    public static FrameSource create(DeviceConfig.Source source) {
        return switch (source.type()) {
            case "synthetic" -> new SyntheticSource(source);
            case "folder" -> new FolderSource(source);
            case "mjpeg-file", "v4l2" -> VideoCaptureSource.of(source);
            case "stream" -> new FfmpegStreamSource(source);
            default -> throw new IllegalArgumentException("unknown source type '" + source.type()
                    + "': set source.type to one of " + String.join(", ", TYPES));
        };
    }

    /** As {@link #create(DeviceConfig.Source)}, with the camera id in the error message. */
    public static FrameSource create(DeviceConfig.Camera camera) {
        try {
            if (camera.source().type().equals("v4l2")) {
                return VideoCaptureSource.of(camera.source()).withSettings(camera.settings());
            }
            return create(camera.source());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("camera " + camera.id() + ": " + e.getMessage(), e);
        }
    }
}
