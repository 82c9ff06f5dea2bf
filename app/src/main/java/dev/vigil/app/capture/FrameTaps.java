package dev.vigil.app.capture;

import dev.vigil.core.VigilException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.opencv.core.MatOfByte;
import org.opencv.core.MatOfInt;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * Saves the next frames of a camera into a folder as JPEG files, beside inspection (an adaptation to what the camera
 * sees now collects its frames so). At most one collection per camera at a time; the inspection loop offers every
 * frame it judges and a frame no collection waits for costs a map lookup.
 */
public final class FrameTaps {
    private static final System.Logger LOG = System.getLogger(FrameTaps.class.getName());
    private final IntSupplier jpegQuality;
    private final Map<String, Tap> taps = new ConcurrentHashMap<>();

    private static final class Tap {
        final Path dir;
        final int wanted;
        final CountDownLatch done = new CountDownLatch(1);
        int saved;

        Tap(Path dir, int wanted) {
            this.dir = dir;
            this.wanted = wanted;
        }
    }

    /** @param jpegQuality the quality frames are saved at ({@code storage.jpegQuality}) */
    public FrameTaps(IntSupplier jpegQuality) {
        this.jpegQuality = jpegQuality;
    }

    /**
     * Saves the next {@code frames} frames of {@code camera} into {@code dir}, waiting at most {@code timeout};
     * returns how many were saved.
     */
    public int collect(String camera, int frames, Path dir, Duration timeout) throws InterruptedException,
            IOException {
        Files.createDirectories(dir);
        Tap tap = new Tap(dir, frames);
        if (taps.putIfAbsent(camera, tap) != null) {
            throw new VigilException("camera " + camera + "'s frames are already being collected; wait for that to"
                    + " end");
        }
        try {
            tap.done.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
            synchronized (tap) {
                return tap.saved;
            }
        } finally {
            taps.remove(camera, tap);
        }
    }

    /** A frame the inspection loop judged: saved when a collection waits for its camera. */
    public void offer(CapturedFrame f) {
        Tap tap = taps.get(f.cameraId());
        if (tap == null) {
            return;
        }
        synchronized (tap) {
            if (tap.saved >= tap.wanted) {
                return;
            }
            MatOfByte buf = new MatOfByte();
            try {
                Imgcodecs.imencode(".jpg", f.image(), buf, new MatOfInt(Imgcodecs.IMWRITE_JPEG_QUALITY,
                        jpegQuality.getAsInt()));
                Files.write(tap.dir.resolve(String.format("frame-%05d.jpg", tap.saved)), buf.toArray());
                tap.saved++;
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "camera {0}: cannot save a frame into {1}: {2}", f.cameraId(),
                        tap.dir, e.getMessage());
                tap.done.countDown();
            } finally {
                buf.release();
            }
            if (tap.saved >= tap.wanted) {
                tap.done.countDown();
            }
        }
    }
}
