package dev.vigil.app.web;

import dev.vigil.app.registry.ModelLifecycle;
import dev.vigil.app.registry.ModelOffers;
import dev.vigil.app.service.InspectionPipeline;

import dev.vigil.app.registry.ModelRegistry;
import dev.vigil.app.registry.ShadowRun;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The model registry over HTTP: the versions and which serves; promote and roll back (admins, via AuthFilter). */
@Controller("/api/models")
@ExecuteOn(TaskExecutors.BLOCKING)
public class ModelController {
    private final ModelRegistry registry;
    private final ModelLifecycle models;
    private final ModelOffers offers;
    private final InspectionPipeline pipeline;

    public ModelController(ModelRegistry registry, ModelLifecycle models, ModelOffers offers,
            InspectionPipeline pipeline) {
        this.registry = registry;
        this.models = models;
        this.offers = offers;
        this.pipeline = pipeline;
    }

    @Get
    public Map<String, Object> models() {
        ModelRegistry r = registry;
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("pointer", r.pointer());
        List<ModelRegistry.Entry> entries = r.entries();
        out.put("models", entries);
        Map<String, Object> evaluations = new LinkedHashMap<>();
        entries.forEach(e -> r.attachment(e.id(), "evaluation").ifPresent(ev -> evaluations.put(e.id(), ev)));
        out.put("evaluations", evaluations);
        out.put("serving", models.model() == null ? null : models.model().id());
        ShadowRun shadow = models.shadow();
        out.put("shadow", shadow == null ? null : shadow.stats());
        return out;
    }

    /**
     * One version in full, for the models view: its manifest (metrics, training summary, operating point), its
     * training report (history, validation confusion matrix, defect-threshold curve), its comparison on the
     * evaluation set and its shadow run, where there are such.
     */
    @Get("/{id}")
    public HttpResponse<?> model(@PathVariable String id) {
        ModelRegistry r = registry;
        var entry = r.entries().stream().filter(e -> e.id().equals(id)).findFirst();
        if (entry.isEmpty()) {
            return HttpResponse.notFound(Map.of("error", "no model '" + id + "' in the registry"));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("entry", entry.get());
        Path dir = r.packageDir(id);
        try {
            var json = dev.vigil.core.model.ModelPackage.json();
            out.put("manifest", json.readTree(dir.resolve(dev.vigil.core.model.ModelPackage.MANIFEST).toFile()));
            out.put("report", json.readTree(dir.resolve(dev.vigil.core.model.ModelPackage.REPORT).toFile()));
        } catch (IOException e) {
            return HttpResponse.serverError(Map.of("error", "package of " + id + " cannot be read: " + e.getMessage()));
        }
        out.put("evaluation", r.attachment(id, "evaluation").orElse(null));
        ShadowRun live = models.shadow();
        out.put("shadow", live != null && live.candidateId().equals(id) ? live.stats()
                : r.attachment(id, "shadow").orElse(null));
        return HttpResponse.ok(out);
    }

    @Post("/{id}/promote")
    public HttpResponse<?> promote(@PathVariable String id) {
        if (registry.entries().stream().noneMatch(e -> e.id().equals(id))) {
            return HttpResponse.notFound(Map.of("error", "no model '" + id + "' in the registry"));
        }
        String reason = models.promote(id);
        return reason == null ? HttpResponse.ok(registry.pointer())
                : HttpResponse.unprocessableEntity().body(Map.of("error", reason));
    }

    /**
     * A package offered by URL and SHA-256 ({@code {"url": ..., "sha256": ...}}), as over MQTT {@code model/offer}:
     * downloaded, verified and entered as the candidate (200), or refused with the reason (422); nothing is left
     * behind when refused.
     */
    @Post("/offer")
    @io.micronaut.http.annotation.Consumes(io.micronaut.http.MediaType.APPLICATION_JSON)
    public HttpResponse<?> offer(@io.micronaut.http.annotation.Body String body) {
        var a = offers.handle(body == null ? "" : body);
        pipeline.offerAnswered(a);
        return a.result().equals("accepted") ? HttpResponse.ok(a) : HttpResponse.unprocessableEntity().body(a);
    }

    @Post("/rollback")
    public HttpResponse<?> rollback() {
        String reason = models.rollback();
        return reason == null ? HttpResponse.ok(registry.pointer())
                : HttpResponse.status(io.micronaut.http.HttpStatus.CONFLICT).body(Map.of("error", reason));
    }
}
