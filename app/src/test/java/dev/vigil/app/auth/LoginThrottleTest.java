package dev.vigil.app.auth;

import dev.vigil.app.testing.SchedulingPolicy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class LoginThrottleTest {
    /** A clock the test moves. */
    private static final class Manual extends Clock {
        Instant now = Instant.parse("2026-12-02T08:00:00Z");

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void wrongPasswordsBeyondTheFreeOnesMakeTheNameAndTheAddressWaitLongerAndLonger() {
        Manual clock = new Manual();
        LoginThrottle t = new LoginThrottle(clock);
        for (int i = 0; i < LoginThrottle.FREE_FAILURES - 1; i++) {
            t.failed("olga", "10.0.0.9");
            assertEquals(Optional.empty(), t.wait("olga", "10.0.0.9"), "free failure " + (i + 1));
        }
        t.failed("olga", "10.0.0.9");
        assertEquals(Optional.of(Duration.ofSeconds(1)), t.wait("olga", "10.0.0.9"));
        assertEquals(Optional.of(Duration.ofSeconds(1)), t.wait("olga", "10.0.0.77"), "the name is held");
        assertEquals(Optional.of(Duration.ofSeconds(1)), t.wait("ada", "10.0.0.9"), "and the address");
        assertEquals(Optional.empty(), t.wait("ada", "10.0.0.77"), "others are not");
        t.failed("olga", "10.0.0.9");
        t.failed("olga", "10.0.0.9");
        assertEquals(Optional.of(Duration.ofSeconds(4)), t.wait("olga", "10.0.0.9"), "doubling");
        for (int i = 0; i < 40; i++) {
            t.failed("olga", "10.0.0.9");
        }
        assertEquals(Optional.of(LoginThrottle.MAX_WAIT), t.wait("olga", "10.0.0.9"), "capped");
        clock.now = clock.now.plus(LoginThrottle.MAX_WAIT);
        assertEquals(Optional.empty(), t.wait("olga", "10.0.0.9"), "waited out");
        t.succeeded("olga", "10.0.0.9");
        t.failed("olga", "10.0.0.9");
        assertEquals(Optional.empty(), t.wait("olga", "10.0.0.9"), "a success starts the count again");
    }

    @Test
    void passwordsAreHashedOneAtATime() throws Exception {
        LoginThrottle t = new LoginThrottle(Clock.systemUTC());
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        Thread[] threads = new Thread[4];
        for (int i = 0; i < threads.length; i++) {
            threads[i] = new Thread(() -> {
                try {
                    go.await();
                    t.hashing(() -> {
                        most.accumulateAndGet(running.incrementAndGet(), Math::max);
                        try {
                            Thread.sleep(50);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        return running.decrementAndGet();
                    });
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            threads[i].start();
        }
        go.countDown();
        for (Thread th : threads) {
            th.join();
        }
        assertEquals(LoginThrottle.CONCURRENT_HASHES, most.get());
        assertTrue(LoginThrottle.CONCURRENT_HASHES >= 1);
    }

    @Test
    void oneAttemptAtATimePerNameAndPerAddress() {
        LoginThrottle t = new LoginThrottle(Clock.systemUTC());
        assertTrue(t.begin("olga", "10.0.0.9"));
        assertFalse(t.begin("olga", "10.0.0.10"), "the same name from elsewhere waits");
        assertFalse(t.begin("ivan", "10.0.0.9"), "another name from the same address waits");
        assertTrue(t.begin("ivan", "10.0.0.10"), "others go on");
        t.end("olga", "10.0.0.9");
        assertTrue(t.begin("olga", "10.0.0.9"), "free again once the first is checked");
    }

    @Test
    void hashingRunsOnOneThreadInTheIdleSchedulingClass() throws Exception {
        LoginThrottle t = new LoginThrottle(Clock.systemUTC());
        int[] policy = new int[1];
        String name = t.hashing(() -> {
            policy[0] = SchedulingPolicy.of(java.nio.file.Path.of("/proc/thread-self/stat"));
            return Thread.currentThread().getName();
        }).orElseThrow();
        assertEquals("vigil-password-hashing", name);
        assertEquals(name, t.hashing(() -> Thread.currentThread().getName()).orElseThrow(), "the same thread");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isExecutable(java.nio.file.Path.of(
                "/usr/bin/chrt")), "no chrt here: the thread keeps its priority (SKIPPED: needs util-linux's chrt)");
        assertEquals(Optional.of("SCHED_IDLE"), t.hashingThreadClass());
        assertEquals(SchedulingPolicy.SCHED_IDLE, policy[0], "the hashing thread's scheduling policy");
    }
}
