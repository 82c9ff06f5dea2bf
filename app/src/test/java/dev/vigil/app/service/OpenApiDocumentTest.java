package dev.vigil.app.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.ServeCommand;
import dev.vigil.app.testing.TestConfig;
import dev.vigil.config.DeviceConfig;
import dev.vigil.core.VigilVersion;
import io.micronaut.context.ApplicationContext;
import io.micronaut.management.endpoint.annotation.Endpoint;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.web.router.Router;
import io.micronaut.web.router.UriRouteInfo;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * {@code GET /openapi.yml} on the running service, compared with the routes the Micronaut router really has: every
 * controller route is described (method and path) and every described operation is a real route, so the description
 * cannot drift from the code. Left out of the comparison, on purpose: the management endpoints ({@code /health...},
 * {@code /prometheus}: Micronaut's, not controllers, documented in docs/service.md) and the {@code HEAD} routes
 * Micronaut derives from {@code GET} ones.
 */
class OpenApiDocumentTest {
    private static final Set<String> OPERATIONS = Set.of("get", "put", "post", "delete", "patch", "head", "options",
            "trace");
    @TempDir
    Path tmp;

    @Test
    @SuppressWarnings("unchecked")
    void theDescriptionListsExactlyTheRoutesOfTheControllersAndNeedsASession() throws Exception {
        Path data = tmp.resolve("data");
        String password = ServiceEndToEndTest.viewer(data);
        DeviceConfig c = TestConfig.offline("line9", data).cameras(List.of()).build();
        ApplicationContext ctx = ServeCommand.start(c);
        try {
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();

            // who may read it: nobody without a session; any logged-in account, a viewer included
            HttpResponse<String> anonymous = ServiceEndToEndTest.get(url + "/openapi.yml");
            assertEquals(401, anonymous.statusCode(), anonymous.body());
            String[] viewer = ServiceEndToEndTest.login(url, "vera", password);
            HttpResponse<String> r = ServiceEndToEndTest.get(url + "/openapi.yml", viewer);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("application/yaml", r.headers().firstValue("content-type").orElse("")
                    .split(";")[0].trim());
            Map<String, Object> doc = new Yaml().load(r.body());
            assertTrue(String.valueOf(doc.get("openapi")).startsWith("3."), "openapi: " + doc.get("openapi"));
            Map<String, Object> info = (Map<String, Object>) doc.get("info");
            assertEquals("Vigil", info.get("title"));
            assertEquals(VigilVersion.VALUE, String.valueOf(info.get("version")), "the build's version");
            assertTrue(((Map<String, Object>) ((Map<String, Object>) doc.get("components")).get("securitySchemes"))
                    .containsKey("session"), "the session cookie is described");

            // what the document describes: METHOD path, path variables as {}
            Set<String> described = new TreeSet<>();
            ((Map<String, Map<String, Object>>) doc.get("paths")).forEach((path, item) -> item.keySet().stream()
                    .filter(OPERATIONS::contains)
                    .forEach(m -> described.add(m.toUpperCase(Locale.ROOT) + " " + normalise(path))));

            // what the router has
            Set<String> routed = new TreeSet<>();
            Set<String> management = new TreeSet<>();
            Set<String> gets = new TreeSet<>();
            for (UriRouteInfo<?, ?> route : ctx.getBean(Router.class).uriRoutes().toList()) {
                String key = route.getHttpMethodName() + " " + normalise(route.getUriMatchTemplate().toPathString());
                if (route.getTargetMethod().getDeclaringType().isAnnotationPresent(Endpoint.class)) {
                    management.add(key);
                } else {
                    routed.add(key);
                    if (key.startsWith("GET ")) {
                        gets.add(key.substring(4));
                    }
                }
            }
            routed.removeIf(k -> k.startsWith("HEAD ") && gets.contains(k.substring(5)));
            System.out.println("routes " + routed.size() + ": " + routed + "\nmanagement (left out): " + management);

            assertEquals(Set.of("GET /health", "GET /health/{}", "GET /prometheus"), Set.copyOf(management.stream()
                    .filter(k -> !k.startsWith("HEAD ")).toList()),
                    "management endpoints: docs/service.md lists them; a new one must be added there deliberately");
            assertTrue(routed.size() >= 30, "the controllers' routes: " + routed);
            assertTrue(routed.contains("GET /openapi.yml") && routed.contains("POST /api/cameras/{}/trigger"),
                    routed.toString());
            Set<String> undescribed = new TreeSet<>(routed);
            undescribed.removeAll(described);
            assertTrue(undescribed.isEmpty(), "routes missing from /openapi.yml: " + undescribed);
            Set<String> unrouted = new TreeSet<>(described);
            unrouted.removeAll(routed);
            assertTrue(unrouted.isEmpty(), "/openapi.yml describes operations the router does not have: " + unrouted);
        } finally {
            ctx.close();
        }
    }

    /** {@code /api/samples/{id}} → {@code /api/samples/{}}; a query template ({@code {?limit}}) is dropped. */
    private static String normalise(String path) {
        String p = path.replaceAll("\\{\\?[^}]*}", "").replaceAll("\\{[^}]*}", "{}");
        return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }
}
