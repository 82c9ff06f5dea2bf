package dev.vigil.app.web;

import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.auth.LoginThrottle;
import dev.vigil.app.auth.Sessions;

import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.cookie.Cookie;
import io.micronaut.http.cookie.SameSite;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.Locale;
import java.util.Map;

/** Login, logout and the current session (its CSRF token) for the labelling page and scripts. */
@Controller("/api")
@ExecuteOn(TaskExecutors.BLOCKING)
public class AuthController {
    private final AccountStore accounts;
    private final Sessions sessions;
    private final LoginThrottle throttle = new LoginThrottle(java.time.Clock.systemUTC());

    public AuthController(AccountStore accounts, Sessions sessions) {
        this.accounts = accounts;
        this.sessions = sessions;
    }

    /** Credentials of a login. */
    public record Login(String name, String password) {}

    @Post("/login")
    public HttpResponse<?> login(@Body Login login, HttpRequest<?> request) throws InterruptedException {
        if (login == null || login.name() == null || login.password() == null) {
            return HttpResponse.badRequest(Map.of("error", "send {\"name\": ..., \"password\": ...}"));
        }
        String address = request.getRemoteAddress() == null || request.getRemoteAddress().getAddress() == null ? "?"
                : request.getRemoteAddress().getAddress().getHostAddress();
        var wait = throttle.wait(login.name(), address);
        if (wait.isPresent()) {
            long seconds = Math.max(1, (wait.get().toMillis() + 999) / 1000);
            return HttpResponse.status(HttpStatus.TOO_MANY_REQUESTS).header("Retry-After", Long.toString(seconds))
                    .body(Map.of("error", "too many wrong passwords for this account or from this address: try again"
                            + " in " + seconds + " s"));
        }
        if (!throttle.begin(login.name(), address)) {
            return HttpResponse.status(HttpStatus.TOO_MANY_REQUESTS).header("Retry-After", "1")
                    .body(Map.of("error", "another login for this account or from this address is being checked:"
                            + " try again in a moment"));
        }
        try {
            var checked = throttle.hashing(() -> accounts.authenticate(login.name(),
                    login.password().toCharArray()));
            if (checked.isEmpty()) {
                return HttpResponse.status(HttpStatus.SERVICE_UNAVAILABLE).header("Retry-After", "2")
                        .body(Map.of("error", "too many logins at once: try again in a moment"));
            }
            if (checked.get().isEmpty()) {
                throttle.failed(login.name(), address);
                return HttpResponse.unauthorized().body(Map.of("error", "wrong name or password"));
            }
            throttle.succeeded(login.name(), address);
            Sessions.Session s = sessions.create(checked.get().get());
            return HttpResponse.ok(body(s)).cookie(Cookie.of(Sessions.COOKIE, s.token()).httpOnly(true)
                    .sameSite(SameSite.Strict).path("/").maxAge(sessions.idle()));
        } finally {
            throttle.end(login.name(), address);
        }
    }

    @Post("/logout")
    public HttpResponse<?> logout(HttpRequest<?> request) {
        request.getCookies().findCookie(Sessions.COOKIE).ifPresent(c -> sessions.remove(c.getValue()));
        return HttpResponse.ok(Map.of("loggedOut", true)).cookie(Cookie.of(Sessions.COOKIE, "").maxAge(0).path("/"));
    }

    @Get("/session")
    public HttpResponse<?> session(HttpRequest<?> request) {
        return request.getCookies().findCookie(Sessions.COOKIE).flatMap(c -> sessions.find(c.getValue()))
                .<HttpResponse<?>>map(s -> HttpResponse.ok(body(s)))
                .orElseGet(() -> HttpResponse.unauthorized().body(Map.of("error", "not logged in")));
    }

    private static Map<String, String> body(Sessions.Session s) {
        return Map.of("name", s.name(), "role", s.role().name().toLowerCase(Locale.ROOT), "csrf", s.csrf());
    }
}
