package dev.vigil.app.web;

import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import java.io.IOException;
import java.io.InputStream;

/** The operator's labelling page at {@code /}: one self-contained HTML file that talks to {@code /api}. */
@Controller
public class PageController {
    private final byte[] page;

    public PageController() throws IOException {
        try (InputStream in = PageController.class.getResourceAsStream("/public/index.html")) {
            if (in == null) {
                throw new IOException("public/index.html is missing from the build");
            }
            page = in.readAllBytes();
        }
    }

    @Get(produces = MediaType.TEXT_HTML)
    public HttpResponse<byte[]> index() {
        return HttpResponse.ok(page).header("Content-Security-Policy", "default-src 'self'; script-src 'self'"
                + " 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self'")
                .header("X-Frame-Options", "DENY");
    }
}
