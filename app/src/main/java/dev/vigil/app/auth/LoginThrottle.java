package dev.vigil.app.auth;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Keeps a flood of wrong passwords from costing the inspection its CPU:
 * <ul>
 *   <li>after {@link #FREE_FAILURES} failed logins in a row for one account name, or from one client address, the
 *       next attempts are refused at once — before any password is hashed — for a wait that doubles with each
 *       further failure (1 s, 2 s, 4 s ... at most {@link #MAX_WAIT}); a successful login clears both;</li>
 *   <li>one attempt at a time per account name and per client address: an attempt while another for the same name
 *       or from the same address is being checked is refused at once (a flood cannot slip its first hundred
 *       attempts past the count while the first ones are still hashing);</li>
 *   <li>at most {@link #CONCURRENT_HASHES} passwords are hashed at a time, on one thread in Linux's idle scheduling
 *       class ({@link IdleThread}): hashing runs only on CPU time inspection leaves over; a login that cannot start
 *       hashing within {@link #QUEUE_WAIT}, or whose hash takes longer than {@link #HASH_TIMEOUT} on a busy
 *       machine, is refused as busy.</li>
 * </ul>
 * Thread-safe; remembers at most {@link #MAX_KEYS} names and addresses (the oldest are forgotten).
 */
public final class LoginThrottle {
    public static final int FREE_FAILURES = 5;
    public static final Duration MAX_WAIT = Duration.ofMinutes(15);
    public static final int CONCURRENT_HASHES = 1;
    public static final Duration QUEUE_WAIT = Duration.ofSeconds(2);
    public static final Duration HASH_TIMEOUT = Duration.ofSeconds(20);
    static final int MAX_KEYS = 10_000;

    private final Clock clock;
    private final Semaphore hashing = new Semaphore(CONCURRENT_HASHES, true);
    private final java.util.Set<String> inFlight = new java.util.HashSet<>();
    private final java.util.concurrent.CompletableFuture<String> hasherClass = new java.util.concurrent.CompletableFuture<>();
    private final java.util.concurrent.ExecutorService hasher = java.util.concurrent.Executors.newSingleThreadExecutor(
            r -> {
                Thread t = new Thread(() -> {
                    hasherClass.complete(IdleThread.demoteCurrentThread());
                    r.run();
                }, "vigil-password-hashing");
                t.setDaemon(true);
                return t;
            });
    private final Map<String, Failures> failures = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Failures> e) {
            return size() > MAX_KEYS;
        }
    };

    private record Failures(int count, Instant until) {}

    public LoginThrottle(Clock clock) {
        this.clock = clock;
    }

    /** How long {@code name} from {@code address} must still wait, if at all. */
    public synchronized Optional<Duration> wait(String name, String address) {
        Instant now = clock.instant();
        Instant until = later(failures.get("name:" + name), failures.get("address:" + address));
        return until != null && until.isAfter(now) ? Optional.of(Duration.between(now, until)) : Optional.empty();
    }

    private static Instant later(Failures a, Failures b) {
        Instant x = a == null ? null : a.until();
        Instant y = b == null ? null : b.until();
        return x == null ? y : y == null ? x : x.isAfter(y) ? x : y;
    }

    public synchronized void failed(String name, String address) {
        bump("name:" + name);
        bump("address:" + address);
    }

    private void bump(String key) {
        Failures f = failures.get(key);
        int n = f == null ? 1 : f.count() + 1;
        Instant until = null;
        if (n >= FREE_FAILURES) {
            long seconds = 1L << Math.min(20, n - FREE_FAILURES);
            until = clock.instant().plus(Duration.ofSeconds(Math.min(seconds, MAX_WAIT.toSeconds())));
        }
        failures.put(key, new Failures(n, until));
    }

    public synchronized void succeeded(String name, String address) {
        failures.remove("name:" + name);
        failures.remove("address:" + address);
    }

    /**
     * Claims the right to check one password for {@code name} from {@code address}; false while another attempt for
     * either is being checked. A true claim must be ended with {@link #end}.
     */
    public synchronized boolean begin(String name, String address) {
        if (inFlight.contains("name:" + name) || inFlight.contains("address:" + address)) {
            return false;
        }
        inFlight.add("name:" + name);
        inFlight.add("address:" + address);
        return true;
    }

    public synchronized void end(String name, String address) {
        inFlight.remove("name:" + name);
        inFlight.remove("address:" + address);
    }

    /**
     * Runs {@code hash} on the hashing thread when a slot is free within {@link #QUEUE_WAIT}; empty when none was or
     * when it did not finish within {@link #HASH_TIMEOUT}.
     */
    public <T> Optional<T> hashing(java.util.function.Supplier<T> hash) throws InterruptedException {
        if (!hashing.tryAcquire(QUEUE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
            return Optional.empty();
        }
        java.util.concurrent.Future<T> f = null;
        try {
            f = hasher.submit(hash::get);
            return Optional.of(f.get(HASH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
        } catch (java.util.concurrent.TimeoutException e) {
            f.cancel(true);
            return Optional.empty();
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } finally {
            hashing.release();
        }
    }

    /** How the hashing thread is scheduled ("SCHED_IDLE" on Linux with chrt), once it has started. */
    public Optional<String> hashingThreadClass() {
        return Optional.ofNullable(hasherClass.getNow(null));
    }
}
