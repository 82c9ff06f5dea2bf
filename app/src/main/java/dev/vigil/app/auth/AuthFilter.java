package dev.vigil.app.auth;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpMethod;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.micronaut.http.cookie.Cookie;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Guards every state-changing request under {@code /api}: 401 without a live session, 403 without the session's CSRF
 * token in {@link Sessions#CSRF_HEADER} or without the role the path needs (admins for models, training and
 * configuration; operators for the rest). Reads stay open on the device's network, as health and metrics are, except
 * those in {@link #READS_WITH_SESSION} (401 without a live session; any role): endpoints added since are listed there
 * unless they are meant to be open. The request is refused before any controller runs, so a refused request changes
 * nothing.
 */
@ServerFilter("/api/**")
public class AuthFilter {
    /** Attribute holding the {@link Sessions.Session} of an authorised request. */
    public static final String SESSION = "vigil.session";
    private static final Set<HttpMethod> CHANGES = Set.of(HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE,
            HttpMethod.PATCH);
    private static final Set<String> OPEN = Set.of("/api/login");
    private static final List<String> ADMIN_ONLY = List.of("/api/models", "/api/training", "/api/config");
    /** Reads that need a live session (GET, HEAD): the stored defect maps. */
    static final List<java.util.regex.Pattern> READS_WITH_SESSION = List.of(
            java.util.regex.Pattern.compile("/api/samples/[^/]+/heatmap"));
    private final Sessions sessions;

    public AuthFilter(Sessions sessions) {
        this.sessions = sessions;
    }

    @RequestFilter
    @Nullable
    public HttpResponse<?> guard(HttpRequest<?> request) {
        String path = request.getPath();
        boolean change = CHANGES.contains(request.getMethod());
        if (!change && READS_WITH_SESSION.stream().anyMatch(p -> p.matcher(path).matches())) {
            var session = sessions.find(request.getCookies().findCookie(Sessions.COOKIE).map(Cookie::getValue)
                    .orElse(null));
            if (session.isEmpty()) {
                return HttpResponse.unauthorized().body(Map.of("error", "log in first (POST /api/login)"));
            }
            request.setAttribute(SESSION, session.get());
            return null;
        }
        if (!change || OPEN.contains(path)) {
            return null;
        }
        String token = request.getCookies().findCookie(Sessions.COOKIE).map(Cookie::getValue).orElse(null);
        var session = sessions.find(token);
        if (session.isEmpty()) {
            return HttpResponse.unauthorized().body(Map.of("error", "log in first (POST /api/login)"));
        }
        String csrf = request.getHeaders().get(Sessions.CSRF_HEADER);
        if (csrf == null || !java.security.MessageDigest.isEqual(csrf.getBytes(), session.get().csrf().getBytes())) {
            return HttpResponse.status(io.micronaut.http.HttpStatus.FORBIDDEN).body(Map.of("error",
                    "missing or wrong " + Sessions.CSRF_HEADER + " header (GET /api/session gives the token)"));
        }
        if (session.get().role() != AccountStore.Role.ADMIN && ADMIN_ONLY.stream().anyMatch(path::startsWith)) {
            return HttpResponse.status(io.micronaut.http.HttpStatus.FORBIDDEN).body(Map.of("error",
                    "an admin account is needed for " + path));
        }
        request.setAttribute(SESSION, session.get());
        return null;
    }
}
