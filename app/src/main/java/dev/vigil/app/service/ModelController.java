package dev.vigil.app.service;

import dev.vigil.app.registry.ModelRegistry;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The model registry over HTTP: the versions and which serves; promote and roll back (admins, via AuthFilter). */
@Controller("/api/models")
@ExecuteOn(TaskExecutors.BLOCKING)
public class ModelController {
    private final VigilService service;

    public ModelController(VigilService service) {
        this.service = service;
    }

    @Get
    public Map<String, Object> models() {
        ModelRegistry r = service.pipeline().registry();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("pointer", r.pointer());
        List<ModelRegistry.Entry> entries = r.entries();
        out.put("models", entries);
        out.put("serving", service.pipeline().model() == null ? null : service.pipeline().model().id());
        return out;
    }

    @Post("/{id}/promote")
    public HttpResponse<?> promote(@PathVariable String id) {
        if (service.pipeline().registry().entries().stream().noneMatch(e -> e.id().equals(id))) {
            return HttpResponse.notFound(Map.of("error", "no model '" + id + "' in the registry"));
        }
        String reason = service.pipeline().promote(id);
        return reason == null ? HttpResponse.ok(service.pipeline().registry().pointer())
                : HttpResponse.unprocessableEntity().body(Map.of("error", reason));
    }

    @Post("/rollback")
    public HttpResponse<?> rollback() {
        String reason = service.pipeline().rollback();
        return reason == null ? HttpResponse.ok(service.pipeline().registry().pointer())
                : HttpResponse.status(io.micronaut.http.HttpStatus.CONFLICT).body(Map.of("error", reason));
    }
}
