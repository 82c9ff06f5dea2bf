package dev.vigil.app.web;

import dev.vigil.app.service.ConfigChanges;
import dev.vigil.app.service.InspectionPipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.app.mqtt.ConfigStatePayload;
import dev.vigil.config.ConfigException;
import dev.vigil.config.ConfigLoader;
import dev.vigil.config.Redact;
import dev.vigil.config.ConfigStore;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Consumes;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Put;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The device configuration over HTTP: read it, change it (admin; a partial YAML or JSON document merged in, or a
 * whole one with {@code ?mode=replace}), list its snapshots, roll back to one. Changes take the same path as
 * {@code config/set} over MQTT ({@link ConfigChanges}); an invalid change is 422 with every problem and changes
 * nothing. Needs a service started with {@code --config FILE}: without a file there is nothing to change (409).
 */
@Controller("/api/config")
@ExecuteOn(TaskExecutors.BLOCKING)
public class ConfigController {
    private final InspectionPipeline pipeline;
    private final ConfigChanges changes;

    public ConfigController(InspectionPipeline pipeline, @Nullable ConfigChanges changes) {
        this.pipeline = pipeline;
        this.changes = changes;
    }

    @Get
    public HttpResponse<?> get() {
        Map<String, Object> out = new LinkedHashMap<>();
        if (changes != null) {
            ConfigStore.Current c = changes.store().current();
            out.put("version", c.version());
            out.put("file", changes.store().file().toString());
            out.put("document", Redact.json(c.document()));
            out.put("state", changes.last());
        }
        out.put("effective", Redact.json(ConfigLoader.json().valueToTree(pipeline.config())));
        return HttpResponse.ok(out);
    }

    @Get("/snapshots")
    public HttpResponse<?> snapshots() {
        return changes == null ? noFile() : HttpResponse.ok(changes.store().snapshots());
    }

    @Get("/snapshots/{version}")
    public HttpResponse<?> snapshot(@PathVariable int version) {
        if (changes == null) {
            return noFile();
        }
        try {
            Object snap = changes.store().snapshot(version);
            return HttpResponse.ok(snap instanceof com.fasterxml.jackson.databind.JsonNode j ? Redact.json(j)
                    : Redact.json(ConfigLoader.json().valueToTree(snap)));
        } catch (ConfigException e) {
            return HttpResponse.notFound(Map.of("error", e.getMessage()));
        }
    }

    @Put
    @Consumes({MediaType.APPLICATION_JSON, "application/yaml", "application/x-yaml", "text/yaml",
        MediaType.TEXT_PLAIN})
    public HttpResponse<?> put(@Body String body, @QueryValue(defaultValue = "merge") String mode,
            HttpRequest<?> request) {
        if (changes == null) {
            return noFile();
        }
        if (!mode.equals("merge") && !mode.equals("replace")) {
            return HttpResponse.badRequest(Map.of("error", "mode must be merge or replace, found '" + mode + "'"));
        }
        JsonNode doc;
        try {
            doc = ConfigLoader.document(body == null ? "" : body, "PUT /api/config");
        } catch (ConfigException e) {
            return HttpResponse.status(HttpStatus.UNPROCESSABLE_ENTITY).body(refused(e.problems()));
        }
        String who = request.getAttribute(dev.vigil.app.web.AuthFilter.SESSION,
                dev.vigil.app.auth.Sessions.Session.class).map(s -> "http by " + s.name()).orElse("http");
        ConfigStatePayload a = changes.apply(doc, mode.equals("replace") ? ConfigStore.Mode.REPLACE
                : ConfigStore.Mode.MERGE, who, null);
        return a.result().equals("applied") ? HttpResponse.ok(a)
                : HttpResponse.status(HttpStatus.UNPROCESSABLE_ENTITY).body(a);
    }

    @Post("/rollback/{version}")
    public HttpResponse<?> rollback(@PathVariable int version, HttpRequest<?> request) {
        if (changes == null) {
            return noFile();
        }
        String who = request.getAttribute(dev.vigil.app.web.AuthFilter.SESSION,
                dev.vigil.app.auth.Sessions.Session.class).map(s -> "http by " + s.name()).orElse("http");
        ConfigStatePayload a = changes.rollback(version, who, null);
        return a.result().equals("applied") ? HttpResponse.ok(a)
                : HttpResponse.status(HttpStatus.UNPROCESSABLE_ENTITY).body(a);
    }

    private static Map<String, Object> refused(List<String> problems) {
        return Map.of("result", "refused", "problems", problems);
    }

    private static HttpResponse<?> noFile() {
        return HttpResponse.status(HttpStatus.CONFLICT).body(Map.of("error", "this service was started without a"
                + " configuration file; start it with --config FILE to change its configuration remotely"));
    }
}
