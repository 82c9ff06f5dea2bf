package dev.vigil.app.web;

import dev.vigil.app.samples.SampleStore;
import dev.vigil.app.service.InspectionPipeline;

import dev.vigil.app.mqtt.StatusPayload;
import dev.vigil.app.samples.Sample;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.io.IOException;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.server.types.files.SystemFile;
import java.util.List;
import java.util.Map;

/** The service's JSON API (the part of DESIGN.md's /api that inspection needs; labelling comes with the page). */
@Controller("/api")
public class ApiController {
    private final InspectionPipeline pipeline;
    private final SampleStore samples;

    public ApiController(InspectionPipeline pipeline, SampleStore samples) {
        this.pipeline = pipeline;
        this.samples = samples;
    }

    @Get("/status")
    public StatusPayload status() {
        return pipeline.status();
    }

    @Post("/cameras/{id}/trigger")
    public HttpResponse<Map<String, String>> trigger(@PathVariable String id) {
        if (!pipeline.cameraStatus().containsKey(id)) {
            return HttpResponse.notFound(Map.of("error", "no camera '" + id + "'; cameras are "
                    + pipeline.cameraStatus().keySet()));
        }
        return pipeline.trigger(id, "http") ? HttpResponse.accepted().body(Map.of("camera", id))
                : HttpResponse.status(io.micronaut.http.HttpStatus.CONFLICT).body(Map.of("error", "camera '" + id
                        + "' did not take the trigger: it is not connected or has too many triggers waiting; see"
                        + " GET /api/status"));
    }

    @Get("/samples")
    public HttpResponse<?> samples(@QueryValue(defaultValue = "") String status,
            @QueryValue(defaultValue = "100") int limit) {
        Boolean labelled = switch (status) {
            case "" -> null;
            case "labelled" -> Boolean.TRUE;
            case "unlabelled" -> Boolean.FALSE;
            default -> null;
        };
        if (!status.isEmpty() && labelled == null) {
            return HttpResponse.badRequest(Map.of("error", "status must be labelled or unlabelled, found '" + status
                    + "'"));
        }
        if (limit < 1 || limit > 1000) {
            return HttpResponse.badRequest(Map.of("error", "limit must be between 1 and 1000, found " + limit));
        }
        List<Sample> l = samples.list(labelled, limit);
        return HttpResponse.ok(l);
    }

    @Get("/samples/{id}")
    public HttpResponse<?> sample(@PathVariable String id) {
        return samples.get(id).<HttpResponse<?>>map(HttpResponse::ok)
                .orElseGet(() -> HttpResponse.notFound(Map.of("error", "no sample '" + id + "'")));
    }

    /**
     * The sample's defect map drawn for laying over its image: a PNG of the image's size, JET colours, alpha = score
     * ({@link dev.vigil.core.model.DefectMap#transparentPng()}), rendered from the stored grid. Needs a session
     * ({@link dev.vigil.app.web.AuthFilter}); 404 with the reason when there is no such sample or it has no map.
     */
    @Get(value = "/samples/{id}/heatmap", produces = MediaType.IMAGE_PNG)
    public HttpResponse<?> heatmap(@PathVariable String id) {
        var store = samples;
        var sample = store.get(id);
        if (sample.isEmpty()) {
            return HttpResponse.notFound(Map.of("error", "no sample '" + id + "'"))
                    .contentType(MediaType.APPLICATION_JSON_TYPE);
        }
        return store.heatmap(sample.get()).<HttpResponse<?>>map(m -> HttpResponse.ok(m.transparentPng())
                .contentType(MediaType.IMAGE_PNG_TYPE).header("Cache-Control", "private, max-age=3600"))
                .orElseGet(() -> HttpResponse.notFound(Map.of("error", "sample '" + id + "' has no heatmap: the model"
                        + " that judged it (" + sample.get().modelId() + ") gives no defect map"))
                        .contentType(MediaType.APPLICATION_JSON_TYPE));
    }

    /** How long a thumbnail may be cached: a year, the longest HTTP allows in practice (it never changes). */
    static final String THUMBNAIL_CACHE = "private, max-age=31536000, immutable";

    /**
     * The sample's grid thumbnail ({@link dev.vigil.app.samples.Thumbnails}: JPEG, longest side 160 px), made on the
     * first request and kept beside the image. A sample's image never changes, so it may be cached for a year
     * ({@link #THUMBNAIL_CACHE}); the ETag is a hash of its bytes and {@code If-None-Match} with it answers 304. A
     * deleted sample's thumbnail is gone with it: 404.
     */
    @Get(value = "/samples/{id}/thumbnail", produces = MediaType.IMAGE_JPEG)
    @ExecuteOn(TaskExecutors.BLOCKING)
    public HttpResponse<?> thumbnail(@PathVariable String id, HttpRequest<?> request) throws IOException {
        var sample = samples.get(id);
        var file = sample.isEmpty() ? java.util.Optional.<java.nio.file.Path>empty()
                : samples.thumbnail(sample.get());
        if (file.isEmpty()) {
            return HttpResponse.notFound(Map.of("error", "no sample '" + id + "'"))
                    .contentType(MediaType.APPLICATION_JSON_TYPE);
        }
        byte[] bytes;
        try {
            bytes = java.nio.file.Files.readAllBytes(file.get());
        } catch (java.nio.file.NoSuchFileException e) { // deleted between the lookup and now
            return HttpResponse.notFound(Map.of("error", "no sample '" + id + "'"))
                    .contentType(MediaType.APPLICATION_JSON_TYPE);
        }
        String etag;
        try {
            etag = "\"" + java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(bytes), 0, 16) + "\"";
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        String match = request.getHeaders().get("If-None-Match");
        if (match != null && java.util.Arrays.stream(match.split(",")).map(String::trim)
                .anyMatch(m -> m.equals(etag) || m.equals("W/" + etag) || m.equals("*"))) {
            return HttpResponse.notModified().header("ETag", etag).header("Cache-Control", THUMBNAIL_CACHE);
        }
        return HttpResponse.ok(bytes).contentType(MediaType.IMAGE_JPEG_TYPE).header("ETag", etag)
                .header("Cache-Control", THUMBNAIL_CACHE);
    }

    @Get(value = "/samples/{id}/image", produces = MediaType.IMAGE_JPEG)
    public HttpResponse<?> image(@PathVariable String id) {
        var store = samples;
        return store.get(id).<HttpResponse<?>>map(s -> HttpResponse.ok(new SystemFile(store.imageFile(s).toFile(),
                MediaType.IMAGE_JPEG_TYPE))).orElseGet(() -> HttpResponse.notFound());
    }
}
