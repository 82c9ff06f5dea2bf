package dev.vigil.app.web;

import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.auth.Sessions;

import dev.vigil.app.service.InspectionPipeline;
import dev.vigil.config.DeviceConfig;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpMethod;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.micronaut.http.cookie.Cookie;
import jakarta.inject.Provider;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Deny by default: every request on every path needs a live session ({@link Sessions}), except
 * <ul>
 *   <li>{@link #OPEN}: logging in, the page itself (it holds no data: everything it shows comes from {@code /api}),
 *       and {@code /health/liveness} and {@code /health/readiness} (status only, for systemd and load balancers);</li>
 *   <li>{@code /prometheus}, as {@code web.metrics} says: {@code loopback} (default: this machine only), {@code token}
 *       (a bearer token), {@code open} or {@code off}.</li>
 * </ul>
 * A session whose account was removed or given another role since it began ({@code vigil user} on a running
 * service) ends at its next request. With a session, roles decide: a {@code viewer} may only read; state-changing
 * methods need an operator or an admin and the session's CSRF token in {@link Sessions#CSRF_HEADER}; changing models, training and configuration needs
 * an admin ({@link #ADMIN_ONLY}), and so does reading the configuration ({@link #ADMIN_READS}); the similar labelled
 * examples shown while labelling need an operator or an admin ({@link #labellersOnly}). A refused request gets 401 or 403 with a JSON reason before
 * any controller runs, so it changes nothing. A new endpoint is therefore closed until it is added here
 * ({@code RouteAccessTest} walks every route the router has).
 */
@ServerFilter("/**")
public class AuthFilter {
    /** Attribute holding the {@link Sessions.Session} of an authorised request. */
    public static final String SESSION = "vigil.session";
    private static final Set<HttpMethod> READS = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS);
    /** Requests anyone may make: {@code METHOD path}. */
    static final Set<String> OPEN = Set.of("POST /api/login", "GET /", "HEAD /", "GET /health/liveness",
            "GET /health/readiness", "HEAD /health/liveness", "HEAD /health/readiness");
    static final String METRICS = "/prometheus";
    /** Path prefixes where only an admin may change anything. */
    static final List<String> ADMIN_ONLY = List.of("/api/models", "/api/training", "/api/config");
    /** Path prefixes only an admin may even read (the configuration: where cameras and brokers are). */
    static final List<String> ADMIN_READS = List.of("/api/config");
    /**
     * Reads only those who label may make (operator, admin): the labelled examples shown beside the sample being
     * labelled ({@code GET /api/samples/{id}/similar}).
     */
    static boolean labellersOnly(String path) {
        return path.startsWith("/api/samples/") && path.endsWith("/similar");
    }

    private final Sessions sessions;
    private final AccountStore accounts;
    private final Provider<InspectionPipeline> pipeline;

    public AuthFilter(Sessions sessions, AccountStore accounts, Provider<InspectionPipeline> pipeline) {
        this.sessions = sessions;
        this.accounts = accounts;
        this.pipeline = pipeline;
    }

    @RequestFilter
    @Nullable
    public HttpResponse<?> guard(HttpRequest<?> request) {
        String path = request.getPath();
        HttpMethod method = request.getMethod();
        if (OPEN.contains(method.name() + " " + path)) {
            return null;
        }
        if (path.equals(METRICS)) {
            return metrics(request);
        }
        var session = sessions.find(request.getCookies().findCookie(Sessions.COOKIE).map(Cookie::getValue)
                .orElse(null));
        if (session.isEmpty()) {
            return HttpResponse.unauthorized().body(Map.of("error", "log in first (POST /api/login)"));
        }
        Sessions.Session s = session.get();
        if (!accounts.role(s.name()).equals(java.util.Optional.of(s.role()))) {
            // removed or given another role with vigil user while logged in: that session ends here
            sessions.remove(s.token());
            return HttpResponse.unauthorized().body(Map.of("error", "the account '" + s.name() + "' was removed or"
                    + " its role changed since this session began; log in again (POST /api/login)"));
        }
        boolean read = READS.contains(method);
        if (!read) {
            String csrf = request.getHeaders().get(Sessions.CSRF_HEADER);
            if (csrf == null || !MessageDigest.isEqual(csrf.getBytes(StandardCharsets.UTF_8),
                    s.csrf().getBytes(StandardCharsets.UTF_8))) {
                return HttpResponse.status(HttpStatus.FORBIDDEN).body(Map.of("error", "missing or wrong "
                        + Sessions.CSRF_HEADER + " header (GET /api/session gives the token)"));
            }
            if (s.role() == AccountStore.Role.VIEWER && !path.equals("/api/logout")) {
                return HttpResponse.status(HttpStatus.FORBIDDEN).body(Map.of("error", "a viewer account may only"
                        + " look; an operator or admin account is needed for " + method + " " + path));
            }
        }
        if (read && s.role() == AccountStore.Role.VIEWER && labellersOnly(path)) {
            return HttpResponse.status(HttpStatus.FORBIDDEN).body(Map.of("error", "a viewer account may not label;"
                    + " an operator or admin account is needed for " + path));
        }
        if (s.role() != AccountStore.Role.ADMIN && (read ? ADMIN_READS : ADMIN_ONLY).stream().anyMatch(p ->
                path.equals(p) || path.startsWith(p + "/"))) {
            return HttpResponse.status(HttpStatus.FORBIDDEN).body(Map.of("error", "an admin account is needed for "
                    + path));
        }
        request.setAttribute(SESSION, s);
        return null;
    }

    /** {@code /prometheus} as {@code web.metrics} says. */
    private HttpResponse<?> metrics(HttpRequest<?> request) {
        DeviceConfig.Web web = pipeline.get().config().web();
        switch (web.metrics()) {
            case "open":
                return null;
            case "loopback":
                var remote = request.getRemoteAddress();
                if (remote != null && remote.getAddress() != null && remote.getAddress().isLoopbackAddress()) {
                    return null;
                }
                return HttpResponse.status(HttpStatus.FORBIDDEN).body(Map.of("error", "metrics are served to this"
                        + " machine only (web.metrics: loopback); scrape through localhost or set web.metrics"));
            case "token":
                String auth = request.getHeaders().getAuthorization().orElse("");
                String token = token(web.metricsTokenFile());
                if (token != null && auth.startsWith("Bearer ") && MessageDigest.isEqual(auth.substring(7).trim()
                        .getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8))) {
                    return null;
                }
                return HttpResponse.unauthorized().body(Map.of("error", "metrics need the bearer token of"
                        + " web.metricsTokenFile (Authorization: Bearer ...)"));
            default:
                return HttpResponse.notFound(Map.of("error", "metrics are off (web.metrics: off)"));
        }
    }

    private static String token(String file) {
        if (file == null) {
            return null;
        }
        try {
            String t = Files.readString(Path.of(file), StandardCharsets.UTF_8).trim();
            return t.isEmpty() ? null : t;
        } catch (IOException e) {
            return null;
        }
    }
}
