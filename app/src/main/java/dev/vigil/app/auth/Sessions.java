package dev.vigil.app.auth;

import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Logged-in sessions, in memory (a restart logs everyone out, which on a factory appliance is a feature). A session
 * is a 256-bit random token sent as an HttpOnly, SameSite=Strict cookie, plus a separate random CSRF token that
 * every state-changing request must echo in the {@link #CSRF_HEADER} header. Sessions expire after
 * {@link #IDLE} without use.
 */
public final class Sessions {
    public static final String COOKIE = "vigil_session";
    public static final String CSRF_HEADER = "X-CSRF-Token";
    public static final Duration IDLE = Duration.ofHours(12);
    private final java.util.function.Supplier<Duration> idle;

    /** Sessions that expire after {@link #IDLE} without use. */
    public Sessions() {
        this(() -> IDLE);
    }

    /** @param idle how long a session lives without use, read at each use (a configuration change applies) */
    public Sessions(java.util.function.Supplier<Duration> idle) {
        this.idle = idle;
    }

    /** How long a session lives without use. */
    public Duration idle() {
        return idle.get();
    }
    private static final SecureRandom RANDOM = new SecureRandom();

    /** One login. */
    public record Session(String token, String name, AccountStore.Role role, String csrf, Instant lastUsed) {}

    private final Map<String, Session> sessions = new ConcurrentHashMap<>();

    public Session create(AccountStore.Account a) {
        Session s = new Session(random(), a.name(), a.role(), random(), Instant.now());
        sessions.put(s.token(), s);
        return s;
    }

    /** The live session of {@code token}, refreshed; empty when unknown or expired. */
    public Optional<Session> find(String token) {
        if (token == null) {
            return Optional.empty();
        }
        Session s = sessions.get(token);
        if (s == null) {
            return Optional.empty();
        }
        Instant now = Instant.now();
        if (s.lastUsed().plus(idle.get()).isBefore(now)) {
            sessions.remove(token);
            return Optional.empty();
        }
        Session fresh = new Session(s.token(), s.name(), s.role(), s.csrf(), now);
        sessions.put(token, fresh);
        return Optional.of(fresh);
    }

    public void remove(String token) {
        if (token != null) {
            sessions.remove(token);
        }
    }

    private static String random() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
