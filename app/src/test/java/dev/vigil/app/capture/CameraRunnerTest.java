package dev.vigil.app.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.capture.CameraStatus.State;
import dev.vigil.config.DeviceConfig;
import dev.vigil.core.image.OpenCv;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CameraRunnerTest {
    private static final Duration WAIT = Duration.ofSeconds(4);

    @BeforeAll
    static void loadOpenCv() {
        OpenCv.load();
    }

    static DeviceConfig.Camera camera(String id, double fps, DeviceConfig.Roi roi, String trigger) {
        DeviceConfig.Source s = new DeviceConfig.Source("synthetic", null, null, null, fps, null, null, null, null,
                null, null);
        return new DeviceConfig.Camera(id, s, roi, trigger);
    }

    /** A sink that keeps what it was given (images released, first pixel rows kept where asked). */
    static final class Collector implements FrameSink {
        final List<CapturedFrame> frames = new CopyOnWriteArrayList<>();
        final List<double[]> corners = new CopyOnWriteArrayList<>();

        @Override
        public void accept(CapturedFrame f) {
            corners.add(f.image().get(0, 0));
            frames.add(new CapturedFrame(f.cameraId(), f.sequence(), f.capturedAt(), f.image().clone(),
                    f.captureNanos(), f.sourceName()));
            f.close();
        }

        int size() {
            return frames.size();
        }

        void release() {
            frames.forEach(CapturedFrame::close);
        }
    }

    @Test
    void deliversPacedFramesWithSequenceAndSource() {
        ScriptedSource source = new ScriptedSource(32, 24);
        Collector sink = new Collector();
        try (CameraRunner r = new CameraRunner(camera("cam1", 50, null, null), source, sink)) {
            assertEquals(State.CONNECTING, r.status().state());
            long t0 = System.nanoTime();
            r.start();
            Await.until(WAIT, () -> sink.size() >= 10, () -> "10 frames, got " + sink.size());
            double seconds = (System.nanoTime() - t0) / 1e9;
            // 10 frames at 50 frames/s take 0.18 s at least (the first is read at once)
            assertTrue(seconds >= 0.17, "10 frames in " + seconds + " s: not paced");
            CameraStatus s = r.status();
            assertEquals("cam1", s.id());
            assertEquals(State.UP, s.state());
            assertNull(s.reason());
            assertTrue(s.fps() > 20 && s.fps() < 80, "fps " + s.fps());
            assertTrue(s.lastFrameAt() != null);
        }
        for (int i = 0; i < 10; i++) {
            CapturedFrame f = sink.frames.get(i);
            assertEquals("cam1", f.cameraId());
            assertEquals(i + 1, f.sequence());
            assertEquals("scripted#" + (i + 1), f.sourceName());
            assertEquals(32, f.image().cols());
            assertTrue(f.captureNanos() > 0);
        }
        sink.release();
        assertTrue(source.closes.get() >= 1, "source closed");
    }

    @Test
    void cropsToTheRoi() {
        ScriptedSource source = new ScriptedSource(64, 48);
        Collector sink = new Collector();
        try (CameraRunner r = new CameraRunner(camera("roi", 100, new DeviceConfig.Roi(10, 5, 20, 16), null),
                source, sink)) {
            r.start();
            Await.until(WAIT, () -> sink.size() >= 2, () -> "2 frames");
        }
        CapturedFrame f = sink.frames.get(0);
        assertEquals(20, f.image().cols());
        assertEquals(16, f.image().rows());
        assertTrue(f.image().isContinuous());
        // pixel (x, y) of the scripted frame is (B, G, R) = (x, y, frame number)
        assertArrayEquals(new double[] {10, 5, 1}, f.image().get(0, 0));
        assertArrayEquals(new double[] {29, 20, 1}, f.image().get(15, 19));
        sink.release();
    }

    @Test
    void aRoiOutsideTheFrameMarksTheCameraDownInsteadOfCrashing() {
        ScriptedSource source = new ScriptedSource(64, 48);
        Collector sink = new Collector();
        try (CameraRunner r = new CameraRunner(camera("wide", 100, new DeviceConfig.Roi(40, 0, 32, 16), null),
                source, sink)) {
            r.start();
            Await.until(WAIT, () -> source.reads.get() >= 5, () -> "5 reads");
            CameraStatus s = r.status();
            assertEquals(State.DOWN, s.state());
            assertTrue(s.reason().contains("wide") && s.reason().contains("roi") && s.reason().contains("64x48"),
                    s.reason());
            assertEquals(0, s.frames());
            assertEquals(0, sink.size());
        }
    }

    @Test
    void aLostSourceGoesDownAndComesBackUp() {
        ScriptedSource source = new ScriptedSource(32, 24);
        source.failAfter = 3;
        CountDownLatch gate = new CountDownLatch(1);
        source.reopenGate = gate;
        Collector sink = new Collector();
        try (CameraRunner r = new CameraRunner(camera("flaky", 200, null, null), source, sink)
                .backoff(Duration.ofMillis(20), Duration.ofMillis(80))) {
            r.start();
            Await.until(WAIT, () -> r.status().state() == State.DOWN, () -> "DOWN, is " + r.status());
            CameraStatus down = r.status();
            assertEquals(3, down.frames());
            assertTrue(down.reason().contains("flaky") && down.reason().contains("unplugged"), down.reason());
            assertEquals(0, down.reconnects());
            assertEquals(0.0, down.fps());
            gate.countDown();
            Await.until(WAIT, () -> r.status().reconnects() >= 1 && r.status().state() == State.UP,
                    () -> "UP again, is " + r.status());
            Await.until(WAIT, () -> r.status().frames() >= 6, () -> "frames after the reconnect");
            Await.until(WAIT, () -> r.status().reconnects() >= 2, () -> "lost and back again");
            assertTrue(source.closes.get() >= 2, "closed before reopening");
        }
        sink.release();
    }

    @Test
    void anOpenThatFailsIsRetriedWithBackoff() {
        ScriptedSource source = new ScriptedSource(32, 24);
        source.failOpenNumber = 1;
        Collector sink = new Collector();
        try (CameraRunner r = new CameraRunner(camera("late", 100, null, null), source, sink)
                .backoff(Duration.ofMillis(150), Duration.ofSeconds(1))) {
            r.start();
            Await.until(WAIT, () -> r.status().state() == State.DOWN, () -> "DOWN");
            assertTrue(r.status().reason().contains("cannot open"), r.status().reason());
            Await.until(WAIT, () -> sink.size() >= 1, () -> "a frame");
            assertEquals(1, r.status().reconnects());
            assertEquals(2, source.opens.get());
        }
        sink.release();
    }

    @Test
    void triggeredModeCapturesExactlyOneFramePerTrigger() throws InterruptedException {
        ScriptedSource source = new ScriptedSource(32, 24);
        Collector sink = new Collector();
        try (CameraRunner r = new CameraRunner(camera("trig", 100, null, "triggered"), source, sink)) {
            assertFalse(r.trigger(), "no trigger before the source is open");
            r.start();
            Await.until(WAIT, () -> r.status().state() == State.UP, () -> "UP");
            Thread.sleep(100);
            assertEquals(0, source.reads.get(), "no frame without a trigger");
            assertTrue(r.trigger());
            Await.until(WAIT, () -> sink.size() == 1, () -> "1 frame");
            assertTrue(r.trigger());
            assertTrue(r.trigger());
            assertTrue(r.trigger());
            Await.until(WAIT, () -> sink.size() == 4, () -> "4 frames, got " + sink.size());
            Thread.sleep(100);
            assertEquals(4, sink.size());
            assertEquals(4, source.reads.get());
            assertEquals(4, r.status().frames());
        }
        sink.release();
    }

    @Test
    void aContinuousCameraIgnoresTriggers() {
        try (CameraRunner r = new CameraRunner(camera("cont", 10, null, null), new ScriptedSource(16, 16),
                f -> f.close())) {
            r.start();
            assertFalse(r.trigger());
        }
    }

    @Test
    void survivesASinkThatThrows() {
        ScriptedSource source = new ScriptedSource(16, 16);
        AtomicInteger calls = new AtomicInteger();
        FrameSink sink = f -> {
            f.close();
            if (calls.incrementAndGet() % 2 == 0) {
                throw new IllegalStateException("sink failure (expected by the test)");
            }
        };
        try (CameraRunner r = new CameraRunner(camera("sinkfail", 200, null, null), source, sink)) {
            r.start();
            Await.until(WAIT, () -> calls.get() >= 10, () -> "10 deliveries");
            CameraStatus s = r.status();
            assertEquals(State.UP, s.state());
            assertTrue(s.sinkErrors() >= 4, "sink errors " + s.sinkErrors());
            assertTrue(s.frames() >= 9);
        }
    }

    @Test
    void aFolderWithACorruptFileIsReplayedToTheEndAndFinishes(@TempDir Path dir) throws IOException {
        FolderSourceTest.image(dir.resolve("01.png"), 10);
        FolderSourceTest.image(dir.resolve("02.png"), 20);
        Files.write(dir.resolve("03.jpg"), new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, 0, 1, 2, 3});
        FolderSourceTest.image(dir.resolve("04.png"), 40);
        DeviceConfig.Camera cam = new DeviceConfig.Camera("folder",
                DeviceConfig.Source.folder(dir.toString(), 100, false), null, null);
        Collector sink = new Collector();
        try (CameraRunner r = new CameraRunner(cam, sink)) {
            r.start();
            Await.until(WAIT, () -> r.status().state() == State.FINISHED, () -> "FINISHED, is " + r.status());
            CameraStatus s = r.status();
            assertEquals(3, s.frames());
            assertEquals(1, s.corruptFrames());
            assertEquals(0, s.reconnects());
            assertNull(s.reason());
        }
        List<String> names = new ArrayList<>();
        sink.frames.forEach(f -> names.add(f.sourceName()));
        assertEquals(List.of("01.png", "02.png", "04.png"), names);
        List<Double> blue = new ArrayList<>();
        sink.corners.forEach(c -> blue.add(c[0]));
        assertEquals(List.of(10.0, 20.0, 40.0), blue);
        sink.release();
    }

    @Test
    void aMissingFolderKeepsTheCameraDownWithTheReason(@TempDir Path dir) {
        Path missing = dir.resolve("missing");
        DeviceConfig.Camera cam = new DeviceConfig.Camera("nofolder",
                DeviceConfig.Source.folder(missing.toString(), 10, true), null, null);
        try (CameraRunner r = new CameraRunner(cam, f -> f.close()).backoff(Duration.ofMillis(10),
                Duration.ofMillis(20))) {
            r.start();
            Await.until(WAIT, () -> r.status().state() == State.DOWN, () -> "DOWN");
            String reason = r.status().reason();
            assertTrue(reason.contains("nofolder") && reason.contains(missing.toString()), reason);
        }
    }

    @Test
    void closeStopsPromptlyEvenWhenSlowlyPaced() {
        ScriptedSource source = new ScriptedSource(16, 16);
        CameraRunner r = new CameraRunner(camera("slow", 0.1, null, null), source, f -> f.close());
        r.start();
        Await.until(WAIT, () -> r.status().frames() == 1, () -> "first frame");
        long t0 = System.nanoTime();
        r.close();
        assertTrue(System.nanoTime() - t0 < 1_000_000_000L, "close took too long");
        assertTrue(source.closes.get() >= 1);
        r.close();
    }

    @Test
    void theSyntheticLineRunsThroughTheRunner() {
        List<String> names = Collections.synchronizedList(new ArrayList<>());
        DeviceConfig.Source src = new DeviceConfig.Source("synthetic", null, null, null, 100.0, null, 64, 48, 0.5,
                3L, null);
        DeviceConfig.Camera cam = new DeviceConfig.Camera("syn", src, new DeviceConfig.Roi(8, 8, 48, 32), null);
        try (CameraRunner r = new CameraRunner(cam, f -> {
            names.add(f.sourceName() + " " + f.image().cols() + "x" + f.image().rows());
            f.close();
        })) {
            r.start();
            Await.until(WAIT, () -> names.size() >= 5, () -> "5 frames");
        }
        assertTrue(names.get(0).startsWith("synthetic-000000-") && names.get(0).endsWith(" 48x32"), names.get(0));
    }
}
