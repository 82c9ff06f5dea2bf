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
 *   <li>at most {@link #CONCURRENT_HASHES} passwords are hashed at a time; a login that cannot start hashing within
 *       {@link #QUEUE_WAIT} is refused as busy.</li>
 * </ul>
 * Thread-safe; remembers at most {@link #MAX_KEYS} names and addresses (the oldest are forgotten).
 */
public final class LoginThrottle {
    public static final int FREE_FAILURES = 5;
    public static final Duration MAX_WAIT = Duration.ofMinutes(15);
    public static final int CONCURRENT_HASHES = 1;
    public static final Duration QUEUE_WAIT = Duration.ofSeconds(2);
    static final int MAX_KEYS = 10_000;

    private final Clock clock;
    private final Semaphore hashing = new Semaphore(CONCURRENT_HASHES, true);
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

    /** Runs {@code hash} when a hashing slot is free within {@link #QUEUE_WAIT}; empty when none was. */
    public <T> Optional<T> hashing(java.util.function.Supplier<T> hash) throws InterruptedException {
        if (!hashing.tryAcquire(QUEUE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
            return Optional.empty();
        }
        try {
            return Optional.of(hash.get());
        } finally {
            hashing.release();
        }
    }
}
