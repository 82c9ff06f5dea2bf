package dev.vigil.app.capture;

import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Scalar;

/**
 * A test source: frames of a fixed size whose pixel (x, y) holds (x, y, frame number mod 256) in (B, G, R); it can
 * throw after N frames of every open (a lost camera), fail given opens, and hold an open on a latch.
 */
final class ScriptedSource implements FrameSource {
    final int width;
    final int height;
    /** Frames per open before read() throws; negative = never. */
    volatile int failAfter = -1;
    /** Opens with this number (1-based) throw. */
    volatile int failOpenNumber = -1;
    /** When set, opens after the first wait for it. */
    volatile CountDownLatch reopenGate;
    final AtomicInteger opens = new AtomicInteger();
    final AtomicInteger reads = new AtomicInteger();
    final AtomicInteger closes = new AtomicInteger();
    private int sinceOpen;
    private long frame;

    ScriptedSource(int width, int height) {
        this.width = width;
        this.height = height;
    }

    @Override
    public void open() throws IOException {
        int n = opens.incrementAndGet();
        CountDownLatch gate = reopenGate;
        if (n > 1 && gate != null) {
            try {
                if (!gate.await(10, TimeUnit.SECONDS)) {
                    throw new IOException("scripted source: gate not opened");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }
        if (n == failOpenNumber) {
            throw new IOException("scripted source: open " + n + " fails");
        }
        sinceOpen = 0;
    }

    @Override
    public Mat read() throws IOException {
        if (failAfter >= 0 && sinceOpen >= failAfter) {
            throw new IOException("scripted source unplugged after " + sinceOpen + " frames");
        }
        sinceOpen++;
        reads.incrementAndGet();
        frame++;
        return pattern(width, height, frame);
    }

    /** The frame: B = x, G = y, R = n (all mod 256). */
    static Mat pattern(int width, int height, long n) {
        Mat m = new Mat(height, width, CvType.CV_8UC3, new Scalar(0, 0, n % 256));
        byte[] row = new byte[width * 3];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                row[3 * x] = (byte) x;
                row[3 * x + 1] = (byte) y;
                row[3 * x + 2] = (byte) n;
            }
            m.put(y, 0, row);
        }
        return m;
    }

    @Override
    public boolean finished() {
        return false;
    }

    @Override
    public String describe() {
        return "scripted " + width + "x" + height;
    }

    @Override
    public String lastName() {
        return "scripted#" + frame;
    }

    @Override
    public void close() {
        closes.incrementAndGet();
    }
}
