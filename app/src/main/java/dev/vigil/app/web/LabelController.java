package dev.vigil.app.web;

import dev.vigil.app.web.AuthFilter;
import dev.vigil.app.auth.Sessions;
import dev.vigil.app.samples.ClassList;
import dev.vigil.app.samples.Sample;
import dev.vigil.app.samples.SampleStore;
import dev.vigil.core.VigilException;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Labelling: the class list (extendable with new defect types), labels on flagged samples with their history, and
 * deletion. State changes pass {@link AuthFilter} first (session, CSRF); each change records who made it.
 */
@Controller("/api")
@ExecuteOn(TaskExecutors.BLOCKING)
public class LabelController {
    private final SampleStore samples;
    private final ClassList classes;
    private final dev.vigil.app.training.AutoTrainTrigger autoTrain;

    public LabelController(SampleStore samples, ClassList classes,
            dev.vigil.app.training.AutoTrainTrigger autoTrain) {
        this.samples = samples;
        this.classes = classes;
        this.autoTrain = autoTrain;
    }

    /** A label request; {@code label} null removes the label (undo). */
    public record LabelRequest(String label) {}

    /** The operator's class for one of a multi-task model's other heads; {@code label} null clears it. */
    public record AttributeRequest(String head, String label) {}

    /** A bulk labelling: the samples and the class they all get. */
    public record BatchRequest(List<String> ids, String label) {}

    /** The undo of a bulk labelling. */
    public record UndoRequest(String batch) {}

    /** A new class. */
    public record NewClass(String name) {}

    @Get("/classes")
    public List<String> classes() {
        return classes.list();
    }

    /** Labelled samples per class: the counts the labelling page shows. */
    @Get("/labels/counts")
    public Map<String, Long> labelCounts() {
        return samples.labelCounts();
    }

    @Post("/classes")
    public HttpResponse<?> addClass(@Body NewClass c) throws IOException {
        try {
            boolean added = classes.add(c == null ? null : c.name());
            return added ? HttpResponse.created(classes.list()) : HttpResponse.ok(classes.list());
        } catch (VigilException e) {
            return HttpResponse.badRequest(Map.of("error", e.getMessage()));
        }
    }

    @Post("/samples/{id}/label")
    public HttpResponse<?> label(@PathVariable String id, @Body LabelRequest body, HttpRequest<?> request) {
        SampleStore store = samples;
        if (store.get(id).isEmpty()) {
            return HttpResponse.notFound(Map.of("error", "no sample '" + id + "'"));
        }
        String label = body == null ? null : body.label();
        if (label != null && !classes.contains(label)) {
            return HttpResponse.badRequest(Map.of("error", "unknown label '" + label + "'; the classes are "
                    + classes.list() + " (POST /api/classes adds one)"));
        }
        Sessions.Session who = request.getAttribute(AuthFilter.SESSION, Sessions.Session.class).orElseThrow();
        var labelled = store.label(id, label, who.name(), Instant.now()).orElseThrow();
        if (label != null) {
            autoTrain.labelled();
        }
        return HttpResponse.ok(labelled);
    }

    /**
     * Labels many samples at once, in one transaction (all or nothing): an unknown id or label, an empty list or more
     * than {@link SampleStore#MAX_BATCH} ids is a 400 naming what was wrong, and nothing changes. Answers the batch id
     * that {@link #undoBatch} takes.
     */
    @Post("/samples/labels")
    public HttpResponse<?> labelBatch(@Body BatchRequest body, HttpRequest<?> request) {
        String example = " e.g. {\"ids\": [\"s1700000000000-0a1b2c3d\"], \"label\": \"scratch\"}";
        if (body == null || body.ids() == null || body.ids().isEmpty()) {
            return HttpResponse.badRequest(Map.of("error", "give the samples to label in \"ids\"," + example));
        }
        if (body.ids().size() > SampleStore.MAX_BATCH) {
            return HttpResponse.badRequest(Map.of("error", body.ids().size() + " ids in one request; at most "
                    + SampleStore.MAX_BATCH + ": send the rest in another request"));
        }
        if (body.label() == null) {
            return HttpResponse.badRequest(Map.of("error", "give the class in \"label\" (the classes are "
                    + classes.list() + "); to take a batch back use POST /api/samples/labels/undo"));
        }
        if (!classes.contains(body.label())) {
            return HttpResponse.badRequest(Map.of("error", "unknown label '" + body.label() + "'; the classes are "
                    + classes.list() + " (POST /api/classes adds one); nothing was labelled"));
        }
        Sessions.Session who = request.getAttribute(AuthFilter.SESSION, Sessions.Session.class).orElseThrow();
        SampleStore.LabelBatch batch;
        try {
            batch = samples.labelBatch(body.ids(), body.label(), who.name(), Instant.now());
        } catch (SampleStore.BatchRefused e) {
            List<String> shown = e.ids().stream().limit(20).map(String::valueOf).toList();
            return HttpResponse.badRequest(Map.of("error", "unknown sample id" + (e.ids().size() == 1 ? " " : "s ")
                    + shown + (e.ids().size() > shown.size() ? " and " + (e.ids().size() - shown.size()) + " more"
                    : "") + " (deleted, or not an id); nothing was labelled: leave them out and send again",
                    "unknown", e.ids()));
        }
        for (int i = 0; i < batch.ids().size(); i++) {
            autoTrain.labelled();
        }
        return HttpResponse.ok(Map.of("batch", batch.batch(), "label", batch.label(), "ids", batch.ids(),
                "count", batch.ids().size(), "at", batch.at()));
    }

    /**
     * Undoes a bulk labelling as one step: every sample gets back its label from before (unlabelled included), in one
     * transaction, recorded in each sample's history. 404 for an unknown batch, 409 when it was undone already or a
     * sample was relabelled since (nothing changes).
     */
    @Post("/samples/labels/undo")
    public HttpResponse<?> undoBatch(@Body UndoRequest body, HttpRequest<?> request) {
        if (body == null || body.batch() == null || !SampleStore.BATCH_ID.matcher(body.batch()).matches()) {
            return HttpResponse.badRequest(Map.of("error", "give the batch id that POST /api/samples/labels"
                    + " answered, e.g. {\"batch\": \"b1700000000000-0a1b2c3d\"}"
                    + (body == null || body.batch() == null ? "" : "; '" + body.batch() + "' is not one")));
        }
        Sessions.Session who = request.getAttribute(AuthFilter.SESSION, Sessions.Session.class).orElseThrow();
        try {
            var restored = samples.undoBatch(body.batch(), who.name(), Instant.now());
            var list = restored.entrySet().stream().map(e -> {
                Map<String, Object> m = new java.util.LinkedHashMap<>();
                m.put("id", e.getKey());
                m.put("label", e.getValue());
                return m;
            }).toList();
            return HttpResponse.ok(Map.of("batch", body.batch(), "restored", list, "count", list.size()));
        } catch (SampleStore.BatchRefused e) {
            return e.conflict() ? HttpResponse.status(io.micronaut.http.HttpStatus.CONFLICT)
                    .body(Map.of("error", e.getMessage(), "samples", e.ids()))
                    : HttpResponse.notFound(Map.of("error", e.getMessage()));
        }
    }

    /**
     * Sets the class of one of a multi-task model's other heads on a sample (docs/multitask.md): the head must be one
     * the model that judged the sample has, the class one of that head's.
     */
    @Post("/samples/{id}/attributes")
    public HttpResponse<?> attribute(@PathVariable String id, @Body AttributeRequest body) {
        var sample = samples.get(id);
        if (sample.isEmpty()) {
            return HttpResponse.notFound(Map.of("error", "no sample '" + id + "'"));
        }
        if (body == null || body.head() == null || body.head().isBlank()) {
            return HttpResponse.badRequest(Map.of("error", "give the head to set, e.g. {\"head\": \"product\","
                    + " \"label\": \"casting\"} (label null clears it)"));
        }
        var attrs = sample.get().attributes();
        if (attrs == null || !attrs.containsKey(body.head())) {
            return HttpResponse.badRequest(Map.of("error", "sample " + id + " has no head '" + body.head() + "'; "
                    + (attrs == null || attrs.isEmpty() ? "the model that judged it has one head (label it with"
                            + " POST /api/samples/" + id + "/label)" : "its heads are " + attrs.keySet())));
        }
        List<String> allowed = sample.get().headClasses(body.head());
        if (body.label() != null && !allowed.contains(body.label())) {
            return HttpResponse.badRequest(Map.of("error", "unknown class '" + body.label() + "' for head '"
                    + body.head() + "'; its classes are " + allowed));
        }
        return HttpResponse.ok(samples.labelAttribute(id, body.head(), body.label()).orElseThrow());
    }

    /** Most neighbours {@link #similar} answers, and how many without {@code limit}. */
    static final int MAX_SIMILAR = 24;
    static final int DEFAULT_SIMILAR = 6;

    /**
     * "Look closer": the labelled samples most like this one, to compare it with before labelling it. The nearest
     * {@code limit} (default 6, at most 24) labelled samples by the cosine similarity of their embeddings (the
     * model's pooled features, standardised and L2-normalised, stored with each sample), among those embedded by the
     * same model —
     * never the sample itself, never an unlabelled one — most similar first, each with its id, label, similarity,
     * camera, time and thumbnail URL; and {@code byClass}, the nearest labelled sample of each class. An operator or
     * admin only (the ones who label; a viewer gets 403). 404 for an unknown sample; 200 with an empty list and a
     * {@code reason} when the sample has no embedding or there is no labelled sample of its model.
     */
    @Get("/samples/{id}/similar")
    @io.swagger.v3.oas.annotations.responses.ApiResponse(responseCode = "200", description = "the nearest labelled"
            + " samples (an empty list with a reason when there are none)", content = @io.swagger.v3.oas.annotations
            .media.Content(mediaType = "application/json", schema = @io.swagger.v3.oas.annotations.media.Schema(
                    implementation = SimilarSamples.class)))
    @io.swagger.v3.oas.annotations.responses.ApiResponse(responseCode = "400", description = "limit outside 1..24")
    @io.swagger.v3.oas.annotations.responses.ApiResponse(responseCode = "403", description = "a viewer account")
    @io.swagger.v3.oas.annotations.responses.ApiResponse(responseCode = "404", description = "no such sample")
    public HttpResponse<?> similar(@PathVariable String id,
            @io.micronaut.http.annotation.QueryValue(defaultValue = "" + DEFAULT_SIMILAR) int limit) {
        if (limit < 1 || limit > MAX_SIMILAR) {
            return HttpResponse.badRequest(Map.of("error", "limit must be between 1 and " + MAX_SIMILAR + ", found "
                    + limit));
        }
        long t0 = System.nanoTime();
        var found = samples.similar(id, limit);
        if (found.isEmpty()) {
            return HttpResponse.notFound(Map.of("error", "no sample '" + id + "'"));
        }
        SampleStore.Similar r = found.get();
        Map<String, Neighbour> byClass = new java.util.LinkedHashMap<>();
        r.byClass().forEach((label, m) -> byClass.put(label, Neighbour.of(m)));
        return HttpResponse.ok(new SimilarSamples(r.sample().id(), r.model(), r.nearest().stream()
                .map(Neighbour::of).toList(), byClass, r.compared(),
                Math.round((System.nanoTime() - t0) / 1e4) / 100.0, r.reason()));
    }

    /**
     * The answer of {@link #similar}. Every field is always present (an empty list is {@code []}, not left out).
     *
     * @param id the sample asked about
     * @param model the model that made its embedding; null when it has none
     * @param similar the nearest labelled samples, most similar first
     * @param byClass the nearest labelled sample of each class, by class name
     * @param compared how many labelled samples of the model were compared
     * @param millis how long the search took, milliseconds
     * @param reason why {@code similar} is empty (no embedding, no labelled sample of the model); null otherwise
     */
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.ALWAYS)
    public record SimilarSamples(String id, @io.micronaut.core.annotation.Nullable String model,
            List<Neighbour> similar, Map<String, Neighbour> byClass, int compared, double millis,
            @io.micronaut.core.annotation.Nullable String reason) {}

    /**
     * One labelled sample near the one asked about.
     *
     * @param label the operator's label
     * @param similarity the cosine similarity of the two embeddings (1 = the same features)
     * @param modelId the model that judged it (and made its embedding)
     * @param thumbnail its grid thumbnail, {@code /api/samples/{id}/thumbnail}
     */
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.ALWAYS)
    public record Neighbour(String id, String label, double similarity, String camera, Instant time, String modelId,
            String thumbnail) {
        static Neighbour of(SampleStore.Match m) {
            Sample s = m.sample();
            return new Neighbour(s.id(), s.assignedLabel(), m.similarity(), s.camera(), s.time(), s.modelId(),
                    "/api/samples/" + s.id() + "/thumbnail");
        }
    }

    @Get("/samples/{id}/history")
    public HttpResponse<?> history(@PathVariable String id) {
        SampleStore store = samples;
        return store.get(id).isEmpty() ? HttpResponse.notFound(Map.of("error", "no sample '" + id + "'"))
                : HttpResponse.ok(store.history(id));
    }

    @Delete("/samples/{id}")
    public HttpResponse<?> delete(@PathVariable String id) {
        SampleStore store = samples;
        return store.get(id).map(s -> store.delete(s) ? HttpResponse.ok(Map.of("deleted", id))
                : HttpResponse.notFound(Map.of("error", "no sample '" + id + "'")))
                .orElseGet(() -> HttpResponse.notFound(Map.of("error", "no sample '" + id + "'")));
    }
}
