package dev.vigil.app.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.capture.CameraStatus.State;
import dev.vigil.config.DeviceConfig;
import dev.vigil.core.image.OpenCv;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opencv.core.Core;
import org.opencv.core.Mat;
import org.opencv.core.MatOfDouble;

/** Against a real ffmpeg (skipped when it is not installed): a test pattern clip read as a "stream". */
class FfmpegStreamSourceTest {
    private static final Duration STALL = Duration.ofSeconds(5);

    @TempDir
    static Path dir;
    private static Path clip;
    private static boolean ffmpeg;

    @BeforeAll
    static void makeClip() throws Exception {
        OpenCv.load();
        ffmpeg = runs("ffmpeg", "-version");
        if (ffmpeg) {
            // 60 s of testsrc at 10 frames/s, 320x240, MJPEG (an encoder every ffmpeg has).
            clip = dir.resolve("testsrc.avi");
            Process p = new ProcessBuilder("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi",
                    "-i", "testsrc=size=320x240:rate=10", "-t", "60", "-c:v", "mjpeg", "-q:v", "8", "-y",
                    clip.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, "ffmpeg could not write the clip: " + out);
        }
    }

    private static boolean runs(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static FfmpegStreamSource source(String url, int w, int h) {
        return new FfmpegStreamSource(url, w, h, 10, "ffmpeg", STALL);
    }

    @Test
    void readsScaledBgrFrames() throws IOException {
        Assumptions.assumeTrue(ffmpeg, "ffmpeg not installed");
        try (FfmpegStreamSource s = source(clip.toString(), 160, 120)) {
            s.open();
            for (int i = 0; i < 5; i++) {
                Mat m = s.read();
                assertNotNull(m);
                assertEquals(160, m.cols());
                assertEquals(120, m.rows());
                assertEquals(3, m.channels());
                MatOfDouble mean = new MatOfDouble();
                MatOfDouble std = new MatOfDouble();
                Core.meanStdDev(m, mean, std);
                assertTrue(std.toArray()[0] > 20, "the test pattern has contrast");
                mean.release();
                std.release();
                m.release();
            }
            assertEquals("stream#5", s.lastName());
            assertFalse(s.finished());
        }
    }

    @Test
    void anEndedStreamThrows(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(ffmpeg, "ffmpeg not installed");
        Path shortClip = tmp.resolve("short.avi");
        assertTrue(runs("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i",
                "testsrc=size=64x48:rate=10", "-t", "0.5", "-c:v", "mjpeg", "-y", shortClip.toString()));
        try (FfmpegStreamSource s = source(shortClip.toString(), 64, 48)) {
            s.open();
            int frames = 0;
            IOException end = null;
            while (end == null && frames < 100) {
                try {
                    s.read().release();
                    frames++;
                } catch (IOException e) {
                    end = e;
                }
            }
            assertNotNull(end, "the end of the stream is a lost source");
            assertTrue(frames >= 4 && frames <= 6, "frames " + frames);
            assertTrue(end.getMessage().contains("ended"), end.getMessage());
        }
    }

    @Test
    void killingFfmpegMakesReadThrow() throws IOException {
        Assumptions.assumeTrue(ffmpeg, "ffmpeg not installed");
        try (FfmpegStreamSource s = source(clip.toString(), 320, 240)) {
            s.open();
            s.read().release();
            s.read().release();
            ProcessHandle p = s.processHandle();
            assertNotNull(p);
            assertTrue(p.destroyForcibly());
            IOException lost = assertThrows(IOException.class, () -> {
                for (int i = 0; i < 10; i++) {
                    s.read().release(); // frames already in the pipe may still come
                }
            });
            assertTrue(lost.getMessage().contains(clip.toString()), lost.getMessage());
        }
    }

    @Test
    void closeEndsFfmpeg() throws IOException {
        Assumptions.assumeTrue(ffmpeg, "ffmpeg not installed");
        FfmpegStreamSource s = source(clip.toString(), 160, 120);
        s.open();
        ProcessHandle p = s.processHandle();
        assertTrue(p.isAlive());
        s.close();
        assertFalse(p.isAlive());
        assertThrows(IOException.class, s::read);
        s.close();
    }

    @Test
    void anUnreachableStreamFailsToOpenWithFfmpegsError() {
        Assumptions.assumeTrue(ffmpeg, "ffmpeg not installed");
        try (FfmpegStreamSource s = source("http://127.0.0.1:9/nothing.mjpg", 160, 120)) {
            IOException e = assertThrows(IOException.class, s::open);
            assertTrue(e.getMessage().contains("cannot be opened") && e.getMessage().contains("127.0.0.1:9"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("ffmpeg said"), e.getMessage());
        }
    }

    @Test
    void theRunnerReconnectsAfterFfmpegDies() {
        Assumptions.assumeTrue(ffmpeg, "ffmpeg not installed");
        FfmpegStreamSource s = source(clip.toString(), 160, 120);
        AtomicInteger frames = new AtomicInteger();
        DeviceConfig.Source cfg = new DeviceConfig.Source("stream", null, null, clip.toString(), 20.0, null, 160, 120,
                null, null, null);
        try (CameraRunner r = new CameraRunner(new DeviceConfig.Camera("ipcam", cfg, null, null), s, f -> {
            frames.incrementAndGet();
            f.close();
        }).backoff(Duration.ofMillis(50), Duration.ofMillis(200))) {
            r.start();
            Await.until(Duration.ofSeconds(4), () -> frames.get() >= 3, () -> "3 frames, " + r.status());
            ProcessHandle first = s.processHandle();
            first.destroyForcibly();
            Await.until(Duration.ofSeconds(4), () -> r.status().reconnects() == 1 && r.status().state() == State.UP,
                    () -> "reconnected, " + r.status());
            int before = frames.get();
            Await.until(Duration.ofSeconds(4), () -> frames.get() >= before + 3, () -> "frames after reconnect");
            ProcessHandle second = s.processHandle();
            assertTrue(second != null && second.pid() != first.pid());
        }
        assertTrue(s.processHandle() == null, "closing the runner ends ffmpeg");
    }

    @Test
    void aStalledStreamEndsFfmpegAndItsChildrenAndThrows(@TempDir Path tmp) throws IOException {
        // A stand-in for ffmpeg: one 16x16 frame, then silence (a camera that stopped sending), in a child process.
        Path fake = tmp.resolve("fake-ffmpeg");
        Files.writeString(fake, "#!/bin/sh\nhead -c 768 /dev/zero\nsleep 30 &\nwait\n");
        assertTrue(fake.toFile().setExecutable(true));
        try (FfmpegStreamSource s = new FfmpegStreamSource("rtsp://cam/silent", 16, 16, 10, fake.toString(),
                Duration.ofMillis(300))) {
            s.open();
            s.read().release();
            List<ProcessHandle> family = new java.util.ArrayList<>(s.processHandle().descendants().toList());
            family.add(s.processHandle());
            long t0 = System.nanoTime();
            IOException e = assertThrows(IOException.class, s::read);
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertTrue(seconds < 2.5, "stall noticed after " + seconds + " s");
            assertTrue(e.getMessage().contains("no data for 300 ms") && e.getMessage().contains("rtsp://cam/silent"),
                    e.getMessage());
            // Killed at once; a killed child counts as alive until the system reaps it (in some containers ~2 s).
            Await.until(Duration.ofSeconds(4), () -> family.stream().noneMatch(ProcessHandle::isAlive),
                    () -> "still running: " + family.stream().filter(ProcessHandle::isAlive).toList());
        }
    }

    @Test
    void aMissingFfmpegSaysHowToGetOne() {
        try (FfmpegStreamSource s = new FfmpegStreamSource("rtsp://cam/stream", 64, 48, 5,
                "/nonexistent/bin/ffmpeg-vigil-test", STALL)) {
            IOException e = assertThrows(IOException.class, s::open);
            assertTrue(e.getMessage().startsWith("ffmpeg not found"), e.getMessage());
            assertTrue(e.getMessage().contains("apt-get install ffmpeg"), e.getMessage());
            assertTrue(e.getMessage().contains("cameras[i].source.ffmpeg"), e.getMessage());
        }
    }

    @Test
    void rtspUsesTcpAndPasswordsStayOutOfMessages() {
        FfmpegStreamSource s = new FfmpegStreamSource("rtsp://admin:secret@10.0.0.5:554/h264", 640, 480, 5, null,
                STALL);
        List<String> c = s.command();
        assertEquals("ffmpeg", c.get(0));
        int i = c.indexOf("-rtsp_transport");
        assertTrue(i > 0 && c.get(i + 1).equals("tcp") && i < c.indexOf("-i"), c.toString());
        assertTrue(c.containsAll(List.of("-nostdin", "rawvideo", "bgr24", "640x480", "-loglevel", "error")));
        assertEquals("-", c.get(c.size() - 1));
        assertFalse(s.describe().contains("secret"), s.describe());
        assertTrue(s.describe().contains("admin:***@10.0.0.5"), s.describe());
        assertFalse(new FfmpegStreamSource("http://cam/video.mjpg", 64, 48, 5, null, STALL).command()
                .contains("-rtsp_transport"));
    }

    @Test
    void theFactoryMakesAStreamSource() {
        DeviceConfig.Source cfg = new DeviceConfig.Source("stream", null, null, "rtsp://cam/1", 5.0, null, 64, 48,
                null, null, "/opt/ffmpeg/bin/ffmpeg");
        FrameSource s = FrameSources.create(cfg);
        assertTrue(s instanceof FfmpegStreamSource);
        assertEquals("/opt/ffmpeg/bin/ffmpeg", ((FfmpegStreamSource) s).command().get(0));
        assertTrue(Files.exists(dir));
    }
}
