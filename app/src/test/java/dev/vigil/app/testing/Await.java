package dev.vigil.app.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waiting for something asynchronous in a test: polls until it holds or fails with what was awaited. */
public final class Await {
    private Await() {}

    /** Polls {@code condition} every 10 ms until it holds; fails after {@code max} naming {@code what}. */
    public static void await(BooleanSupplier condition, Duration max, String what) {
        long end = System.nanoTime() + max.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out after " + max.toMillis() + " ms waiting for: " + what);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for: " + what, e);
            }
        }
    }
}
