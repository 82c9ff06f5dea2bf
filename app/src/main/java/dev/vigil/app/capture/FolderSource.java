package dev.vigil.app.capture;

import dev.vigil.config.DeviceConfig;
import dev.vigil.core.image.OpenCv;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * Replays the images of a folder in file-name order (plain {@link String#compareTo} of the names: zero-pad
 * numbers), as if a camera saw them: for demos, for tests, and to run a recorded batch through the line.
 *
 * <p>Images are the regular files ending in {@code .jpg .jpeg .png .bmp .tif .tiff} (any case) directly in the
 * folder; hidden files (names starting with a dot, e.g. macOS {@code ._x.jpg}) and everything else are ignored. With
 * {@code loop} the replay starts again at the end (and lists the folder again, so images added meanwhile join);
 * without, {@link #finished()} becomes true as the last image is returned, and {@link #read()} then returns null.
 * A file that cannot be read or decoded gives an empty Mat, which the runner skips and counts. Every image comes
 * out as 8-bit BGR (grey images are converted).
 */
public final class FolderSource implements FrameSource {
    /** The file name extensions read, lower case. */
    public static final Set<String> EXTENSIONS = Set.of("jpg", "jpeg", "png", "bmp", "tif", "tiff");

    private final Path folder;
    private final boolean loop;
    private List<Path> files = List.of();
    private int next;
    private boolean finished;
    private String lastName;

    /**
     * @param folder the folder of images
     * @param loop start again after the last image
     */
    public FolderSource(Path folder, boolean loop) {
        this.folder = folder;
        this.loop = loop;
    }

    /** A folder source for {@code source.path} and {@code source.loop}. */
    public FolderSource(DeviceConfig.Source source) {
        this(requirePath(source), source.loop());
    }

    private static Path requirePath(DeviceConfig.Source source) {
        if (source.path() == null || source.path().isBlank()) {
            throw new IllegalArgumentException(
                    "folder source: source.path is missing; set it to a folder of images (jpg, png, bmp, tif)");
        }
        return Path.of(source.path());
    }

    /**
     * Lists the folder.
     *
     * @throws IOException when the folder does not exist, cannot be listed or holds no images
     */
    @Override
    public synchronized void open() throws IOException {
        OpenCv.load();
        files = list();
        next = 0;
        finished = false;
        lastName = null;
    }

    private List<Path> list() throws IOException {
        if (!Files.isDirectory(folder)) {
            throw new IOException("folder source: " + folder.toAbsolutePath() + (Files.exists(folder)
                    ? " is not a folder" : " does not exist") + "; create it and put images in it ("
                    + String.join(", ", EXTENSIONS.stream().sorted().toList()) + "), or fix source.path");
        }
        List<Path> images;
        try (Stream<Path> entries = Files.list(folder)) {
            images = entries.filter(FolderSource::isImage).filter(Files::isRegularFile)
                    .sorted((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()))
                    .toList();
        } catch (IOException | RuntimeException e) {
            throw new IOException("folder source: cannot list " + folder.toAbsolutePath() + ": " + e
                    + "; check that the service user may read it", e);
        }
        if (images.isEmpty()) {
            throw new IOException("folder source: " + folder.toAbsolutePath() + " holds no images ("
                    + String.join(", ", EXTENSIONS.stream().sorted().toList())
                    + "); copy images into it or fix source.path");
        }
        return images;
    }

    /** True for a name with one of the {@link #EXTENSIONS} (any case) that is not hidden. */
    static boolean isImage(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 && !name.startsWith(".")
                && EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    /**
     * The next image; empty when the file cannot be read or decoded; null after the last one without loop.
     *
     * @throws IOException when looping and the folder has gone or holds no images any more
     */
    @Override
    public synchronized Mat read() throws IOException {
        if (finished || files.isEmpty()) {
            return null;
        }
        if (next >= files.size()) {
            files = list();
            next = 0;
        }
        Path file = files.get(next++);
        lastName = file.getFileName().toString();
        if (!loop && next >= files.size()) {
            // Known now, so that the runner can tell "finished" right after the last frame.
            finished = true;
        }
        return decode(file);
    }

    /** The image, or an empty Mat when the file is gone, unreadable or not a decodable image. */
    private static Mat decode(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException | RuntimeException e) {
            return new Mat();
        }
        if (bytes.length == 0) {
            return new Mat();
        }
        MatOfByte buffer = new MatOfByte(bytes);
        try {
            return Imgcodecs.imdecode(buffer, Imgcodecs.IMREAD_COLOR);
        } finally {
            buffer.release();
        }
    }

    /** The file name of the last image read (also for a corrupt one); null before the first. */
    @Override
    public synchronized String lastName() {
        return lastName;
    }

    /** The images found when the folder was last listed. */
    public synchronized int imageCount() {
        return files.size();
    }

    @Override
    public synchronized boolean finished() {
        return finished;
    }

    @Override
    public synchronized String describe() {
        return "folder " + folder.toAbsolutePath() + " (" + files.size() + " images, " + (loop ? "loop" : "once")
                + ")";
    }

    @Override
    public synchronized void close() {
        files = List.of();
        next = 0;
    }
}
