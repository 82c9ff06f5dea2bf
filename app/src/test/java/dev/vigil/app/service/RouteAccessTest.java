package dev.vigil.app.service;

import dev.vigil.app.testing.TestConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.config.DeviceConfig;
import io.micronaut.context.ApplicationContext;
import io.micronaut.http.HttpMethod;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.web.router.Router;
import io.micronaut.web.router.UriRouteInfo;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deny by default, proven on the running service: every route the router has — the controllers' and the management
 * endpoints' — is asked without a session, then as a viewer, an operator and an admin. A route added later is in the
 * router too, so it cannot be born open: it answers 401 here until {@code AuthFilter} opens it deliberately.
 */
class RouteAccessTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Routes anyone may use, as {@code METHOD path} (path variables filled with "x"). */
    private static final Set<String> OPEN = Set.of("POST /api/login", "GET /", "HEAD /", "GET /health/liveness",
            "GET /health/readiness", "HEAD /health/liveness", "HEAD /health/readiness");
    @TempDir
    Path tmp;

    @Test
    void everyRouteNeedsASessionAndTheRightRoleUnlessDeliberatelyOpen() throws Exception {
        Path data = tmp.resolve("data");
        AccountStore accounts = new AccountStore(data.resolve("accounts.json"));
        accounts.put("vera", AccountStore.Role.VIEWER, "viewer secret 1".toCharArray());
        accounts.put("olga", AccountStore.Role.OPERATOR, "operator secret".toCharArray());
        accounts.put("ada", AccountStore.Role.ADMIN, "admin secret 12".toCharArray());
        Path frames = tmp.resolve("frames");
        ApiClient.writeFrames(frames, 2, 64, 48);
        DeviceConfig c = TestConfig.device("line9")
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(frames.toString(), 2,
                        true), null, null)))
                .mqtt(new DeviceConfig.Mqtt("tcp://user:hunter2@127.0.0.1:9", null, null, null, null, null, null,
                        null, null, 60, null))
                .storage(new DeviceConfig.Storage(data.toString(), null, null, null, null, null))
                .web(new DeviceConfig.Web(0, "127.0.0.1"))
                .build();
        ApplicationContext ctx = ServeCommand.start(c);
        try {
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            List<String[]> routes = new ArrayList<>();
            for (UriRouteInfo<?, ?> r : ctx.getBean(Router.class).uriRoutes().toList()) {
                Map<String, Object> vars = new HashMap<>();
                r.getUriMatchTemplate().getVariableNames().forEach(v -> vars.put(v, "x"));
                String path = r.getUriMatchTemplate().expand(vars);
                int q = path.indexOf('?');
                routes.add(new String[] {r.getHttpMethodName(), q < 0 ? path : path.substring(0, q)});
            }
            assertTrue(routes.size() >= 30, "the router's routes: " + routes.size());
            String[] viewer = ServiceEndToEndTest.login(url, "vera", "viewer secret 1");
            String[] operator = ServiceEndToEndTest.login(url, "olga", "operator secret");
            String[] admin = ServiceEndToEndTest.login(url, "ada", "admin secret 12");
            List<String> checked = new ArrayList<>();
            for (String[] r : routes) {
                String method = r[0];
                String path = r[1];
                String key = method + " " + path;
                if (key.equals("POST /api/logout")) {
                    continue; // would end the sessions used below; it needs a session like every other change
                }
                boolean change = !method.equals("GET") && !method.equals("HEAD");
                String body = change ? "{}" : null;
                HttpResponse<String> anonymous = ApiClient.send(method, url + path, body, null, null);
                if (OPEN.contains(key)) {
                    assertNotEquals(401, anonymous.statusCode(), key + " is open: " + anonymous.body());
                } else if (path.equals("/prometheus")) {
                    assertEquals(200, anonymous.statusCode(), "metrics from this machine (web.metrics: loopback)");
                } else {
                    assertEquals(401, anonymous.statusCode(), key + " without a session: " + anonymous.body());
                    assertTrue(method.equals("HEAD") || anonymous.body().contains("log in first"), key + ": "
                            + anonymous.body());
                }
                boolean adminOnly = path.startsWith("/api/config") || change && (path.startsWith("/api/models")
                        || path.startsWith("/api/training"));
                if (change && !OPEN.contains(key)) {
                    HttpResponse<String> v = ApiClient.send(method, url + path, body, viewer);
                    assertEquals(403, v.statusCode(), key + " as a viewer: " + v.body());
                    HttpResponse<String> noCsrf = ApiClient.send(method, url + path, body, admin[0], null);
                    assertEquals(403, noCsrf.statusCode(), key + " without the CSRF token: " + noCsrf.body());
                }
                if (adminOnly) {
                    HttpResponse<String> o = ApiClient.send(method, url + path, body, operator);
                    assertEquals(403, o.statusCode(), key + " as an operator: " + o.body());
                    assertTrue(method.equals("HEAD") || o.body().contains("an admin account is needed"), key + ": "
                            + o.body());
                }
                checked.add(key);
            }
            System.out.println("routes checked: " + checked.size() + " " + checked);

            // the management endpoints Vigil does not use are not there at all, not even for an admin
            for (String p : List.of("/threaddump", "/routes", "/info", "/env", "/beans", "/loggers", "/refresh")) {
                assertEquals(401, ServiceEndToEndTest.get(url + p).statusCode(), p);
                HttpResponse<String> a = ApiClient.send(p.equals("/refresh") ? "POST" : "GET", url + p,
                        p.equals("/refresh") ? "{}" : null, admin);
                assertEquals(404, a.statusCode(), p + " as an admin: " + a.body());
            }
            // liveness and readiness say UP or DOWN and nothing else
            HttpResponse<String> live = ServiceEndToEndTest.get(url + "/health/liveness");
            assertEquals(200, live.statusCode(), live.body());
            JsonNode body = JSON.readTree(live.body());
            assertEquals("UP", body.get("status").asText());
            assertFalse(body.has("details"), live.body());
            assertFalse(ServiceEndToEndTest.get(url + "/health/readiness").body().contains("127.0.0.1"));
            // the broker password in mqtt.url is never shown
            for (String p : List.of("/api/status", "/api/config", "/api/config/snapshots")) {
                HttpResponse<String> r = ApiClient.send("GET", url + p, null, admin);
                assertFalse(r.body().contains("hunter2"), p + ": " + r.body());
            }
            // a viewer reads what the page shows
            assertEquals(200, ApiClient.send("GET", url + "/api/status", null, viewer).statusCode());
            assertEquals(200, ApiClient.send("GET", url + "/api/samples", null, viewer).statusCode());

            // vigil user on the running service: an account added there logs in at once; one removed, or given
            // another role, loses its session at its next request
            java.io.InputStream in = System.in;
            try {
                System.setIn(new java.io.ByteArrayInputStream("operator secret 2\n".getBytes()));
                assertEquals(0, dev.vigil.app.Vigil.run("user", "add", "--storage", data.toString(), "--role",
                        "operator", "--password-stdin", "bert"));
                System.setIn(new java.io.ByteArrayInputStream("viewer secret 1\n".getBytes()));
                assertEquals(0, dev.vigil.app.Vigil.run("user", "add", "--storage", data.toString(), "--role",
                        "operator", "--password-stdin", "vera"));
            } finally {
                System.setIn(in);
            }
            assertEquals(0, dev.vigil.app.Vigil.run("user", "remove", "--storage", data.toString(), "olga"));
            String[] bert = ServiceEndToEndTest.login(url, "bert", "operator secret 2");
            assertEquals(200, ApiClient.send("GET", url + "/api/samples", null, bert).statusCode());
            for (String[] gone : List.of(operator, viewer)) {
                HttpResponse<String> r = ApiClient.send("GET", url + "/api/samples", null, gone);
                assertEquals(401, r.statusCode(), r.body());
                assertTrue(r.body().contains("removed or its role changed"), r.body());
                assertEquals(401, ApiClient.send("GET", url + "/api/samples", null, gone).statusCode(),
                        "the session is gone, not just refused once");
            }
            assertEquals(200, ApiClient.send("GET", url + "/api/status", null, admin).statusCode(),
                    "the other sessions live on");
        } finally {
            ctx.close();
        }
    }
}
