package dev.vigil.app.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.config.DeviceConfig;
import dev.vigil.core.image.OpenCv;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Scalar;
import org.opencv.core.Size;
import org.opencv.videoio.VideoWriter;
import org.opencv.videoio.Videoio;

class VideoCaptureSourceTest {
    /** Grey levels of the frames written. */
    private static final int[] LEVELS = {30, 80, 130, 180, 230};

    @BeforeAll
    static void loadOpenCv() {
        OpenCv.load();
    }

    /** Writes five 64x48 frames of the {@link #LEVELS} as an MJPEG .avi with OpenCV. */
    static Path writeClip(Path dir) {
        Path file = dir.resolve("line.avi");
        VideoWriter w = new VideoWriter(file.toString(), Videoio.CAP_OPENCV_MJPEG,
                VideoWriter.fourcc('M', 'J', 'P', 'G'), 10, new Size(64, 48), true);
        assertTrue(w.isOpened(), "VideoWriter cannot write MJPEG");
        for (int v : LEVELS) {
            Mat m = new Mat(48, 64, CvType.CV_8UC3, new Scalar(v, v, v));
            w.write(m);
            m.release();
        }
        w.release();
        return file;
    }

    private static double level(Mat m) {
        return m.get(24, 32)[1];
    }

    @Test
    void readsAnMjpegFileOnce(@TempDir Path dir) throws IOException {
        Path clip = writeClip(dir);
        try (VideoCaptureSource s = VideoCaptureSource.mjpegFile(clip, false)) {
            s.open();
            for (int i = 0; i < LEVELS.length; i++) {
                Mat m = s.read();
                assertNotNull(m, "frame " + i);
                assertEquals(64, m.cols());
                assertEquals(48, m.rows());
                assertEquals(CvType.CV_8UC3, m.type());
                assertEquals(LEVELS[i], level(m), 4, "frame " + i);
                assertEquals("line.avi#" + (i + 1), s.lastName());
                m.release();
            }
            assertNull(s.read());
            assertTrue(s.finished());
        }
    }

    @Test
    void loopsAnMjpegFile(@TempDir Path dir) throws IOException {
        Path clip = writeClip(dir);
        try (VideoCaptureSource s = VideoCaptureSource.of(new DeviceConfig.Source("mjpeg-file", clip.toString(), null,
                null, null, true, null, null, null, null, null))) {
            s.open();
            double[] seen = new double[12];
            for (int i = 0; i < seen.length; i++) {
                Mat m = s.read();
                assertNotNull(m, "frame " + i);
                seen[i] = Math.round(level(m) / 50.0);
                m.release();
            }
            double[] expected = new double[12];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = Math.round(LEVELS[i % LEVELS.length] / 50.0);
            }
            assertArrayEquals(expected, seen);
            assertFalse(s.finished());
        }
    }

    @Test
    void aMissingFileFailsToOpenNamingIt(@TempDir Path dir) {
        Path missing = dir.resolve("missing.avi");
        try (VideoCaptureSource s = VideoCaptureSource.mjpegFile(missing, true)) {
            IOException e = assertThrows(IOException.class, s::open);
            assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("does not exist"),
                    e.getMessage());
        }
    }

    @Test
    void aFileThatIsNoMjpegFailsToOpenSayingHowToConvert(@TempDir Path dir) throws IOException {
        Path bogus = dir.resolve("bogus.avi");
        Files.writeString(bogus, "this is not a video");
        try (VideoCaptureSource s = VideoCaptureSource.mjpegFile(bogus, true)) {
            IOException e = assertThrows(IOException.class, s::open);
            assertTrue(e.getMessage().contains(bogus.toString()) && e.getMessage().contains("-c:v mjpeg"),
                    e.getMessage());
        }
    }

    @Test
    void aMissingCameraFailsToOpenNamingTheDevice() {
        try (VideoCaptureSource s = VideoCaptureSource.v4l2("/dev/video97", 640, 480, 5)) {
            IOException e = assertThrows(IOException.class, s::open);
            assertTrue(e.getMessage().contains("/dev/video97") && e.getMessage().contains("plugged in"),
                    e.getMessage());
        }
    }

    @Test
    void findsTheV4l2IndexOfADevicePathOrLink(@TempDir Path dir) throws IOException {
        assertEquals(0, VideoCaptureSource.deviceIndex("0"));
        assertEquals(12, VideoCaptureSource.deviceIndex("12"));
        // udev links such as /dev/v4l/by-id/usb-...-video-index0 point at /dev/videoN
        Path video = Files.createFile(dir.resolve("video3"));
        Path link = Files.createSymbolicLink(dir.resolve("usb-Camera-video-index0"), video);
        assertEquals(3, VideoCaptureSource.deviceIndex(link.toString()));
        Path other = Files.createFile(dir.resolve("ttyUSB0"));
        IOException e = assertThrows(IOException.class, () -> VideoCaptureSource.deviceIndex(other.toString()));
        assertTrue(e.getMessage().contains("not a /dev/videoN"), e.getMessage());
    }

    @Test
    void theFactoryKnowsEveryTypeAndRejectsOthers() {
        assertTrue(FrameSources.create(DeviceConfig.Source.synthetic()) instanceof SyntheticSource);
        assertTrue(FrameSources.create(DeviceConfig.Source.folder("/tmp", 1, true)) instanceof FolderSource);
        assertTrue(FrameSources.create(new DeviceConfig.Source("v4l2", null, "0", null, null, null, null, null, null,
                null, null)) instanceof VideoCaptureSource);
        assertTrue(FrameSources.create(new DeviceConfig.Source("mjpeg-file", "/x.avi", null, null, null, null, null,
                null, null, null, null)) instanceof VideoCaptureSource);
        DeviceConfig.Camera odd = new DeviceConfig.Camera("cam7", new DeviceConfig.Source("gige", null, null, null,
                null, null, null, null, null, null, null), null, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FrameSources.create(odd));
        assertTrue(e.getMessage().contains("cam7") && e.getMessage().contains("'gige'")
                && e.getMessage().contains("synthetic, folder, mjpeg-file, v4l2, stream"), e.getMessage());
        IllegalArgumentException noDevice = assertThrows(IllegalArgumentException.class,
                () -> FrameSources.create(new DeviceConfig.Source("v4l2", null, null, null, null, null, null, null,
                        null, null, null)));
        assertTrue(noDevice.getMessage().contains("source.device"), noDevice.getMessage());
    }
}
