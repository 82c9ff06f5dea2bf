package dev.vigil.app.web;

import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.enums.SecuritySchemeIn;
import io.swagger.v3.oas.annotations.enums.SecuritySchemeType;
import io.swagger.v3.oas.annotations.info.Info;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.security.SecurityScheme;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * {@code GET /openapi.yml}: the OpenAPI description of Vigil's HTTP API, generated at compile time from the
 * controllers by Micronaut OpenAPI (the annotation processor writes {@value #RESOURCE}; app/pom.xml names it and
 * stamps the build's version into it) and served as it was built. Like every path {@link AuthFilter} does not open,
 * it needs a session: any logged-in account, a viewer included, may read it — it describes the API behind that same
 * login and holds no data.
 */
@OpenAPIDefinition(info = @Info(title = "Vigil", version = "${vigil.version}",
        description = "Vigil's inspection service: status, triggers, labelling, models, training and configuration."
                + " Every path except POST /api/login, GET / and the health probes needs the vigil_session cookie of"
                + " a login (POST /api/login); state-changing requests also need the session's CSRF token in the"
                + " X-CSRF-Token header; viewers read, operators label and trigger, admins also change models,"
                + " training and configuration (docs/service.md)."),
        security = @SecurityRequirement(name = "session"))
@SecurityScheme(name = "session", type = SecuritySchemeType.APIKEY, in = SecuritySchemeIn.COOKIE,
        paramName = "vigil_session", description = "The session cookie POST /api/login sets.")
@Controller
public class OpenApiController {
    /** The YAML media type of the answer. */
    public static final String APPLICATION_YAML = "application/yaml";
    /** Where the annotation processor writes the description (class-path resource). */
    static final String RESOURCE = "META-INF/swagger/vigil.yml";
    private final byte[] document;

    public OpenApiController() {
        try (InputStream in = OpenApiController.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the build: the micronaut-openapi"
                        + " annotation processor did not run (app/pom.xml, annotationProcessorPaths); rebuild with"
                        + " ./mvnw");
            }
            document = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE + ": " + e, e);
        }
    }

    @Get(value = "/openapi.yml", produces = APPLICATION_YAML)
    @Operation(summary = "This OpenAPI description", description = "Generated from the controllers when Vigil was"
            + " built; any logged-in account may read it.")
    @Tag(name = "service")
    public HttpResponse<byte[]> openapi() {
        return HttpResponse.ok(document);
    }
}
