package dev.vigil.app.web;

import dev.vigil.app.training.AutoTrainTrigger;
import dev.vigil.app.training.TrainingJobs;

import dev.vigil.app.web.AuthFilter;
import dev.vigil.app.auth.Sessions;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import java.util.List;
import java.util.Map;

/**
 * Background retraining and adaptation: start (admin), follow progress, cancel (admin). The result is a registry
 * candidate.
 */
@Controller("/api/training")
public class TrainingController {
    private final TrainingJobs jobs;
    private final AutoTrainTrigger trigger;
    private final dev.vigil.app.service.InspectionPipeline pipeline;

    public TrainingController(TrainingJobs jobs, AutoTrainTrigger trigger,
            dev.vigil.app.service.InspectionPipeline pipeline) {
        this.jobs = jobs;
        this.trigger = trigger;
        this.pipeline = pipeline;
    }

    /** What {@code POST /api/training/adapt} takes: the camera whose condition the model adapts to, and frames. */
    public record AdaptRequest(String camera, Integer frames) {}

    /**
     * Adapts the active model to what one camera sees now (a new lens, light or product variant): its next frames
     * are collected and {@code vigil adapt} runs on them; the result is a candidate like a training run's.
     */
    @Post("/adapt")
    public HttpResponse<?> adapt(HttpRequest<?> request, @io.micronaut.http.annotation.Body AdaptRequest body) {
        String who = request.getAttribute(AuthFilter.SESSION, Sessions.Session.class).map(Sessions.Session::name)
                .orElse("?");
        if (body == null || body.camera() == null || body.camera().isBlank()) {
            return HttpResponse.badRequest(Map.of("error", "give the camera to adapt to: {\"camera\": \"cam1\","
                    + " \"frames\": 100}"));
        }
        if (pipeline.cameraStatus().get(body.camera()) == null) {
            return HttpResponse.badRequest(Map.of("error", "no camera '" + body.camera() + "'; cameras: "
                    + pipeline.cameraStatus().keySet()));
        }
        try {
            String id = jobs.startAdapt(who, body.camera(), body.frames() == null ? DEFAULT_ADAPT_FRAMES
                    : body.frames(), pipeline::collectFrames);
            return HttpResponse.accepted().body(Map.of("job", id));
        } catch (dev.vigil.core.VigilException e) {
            return HttpResponse.status(HttpStatus.CONFLICT).body(Map.of("error", e.getMessage()));
        }
    }

    /** Frames an adaptation collects when the request does not say. */
    static final int DEFAULT_ADAPT_FRAMES = 100;

    @Post
    public HttpResponse<?> start(HttpRequest<?> request) {
        String who = request.getAttribute(AuthFilter.SESSION, Sessions.Session.class).map(Sessions.Session::name)
                .orElse("?");
        String id = jobs.start(who);
        trigger.runStarted();
        return HttpResponse.accepted().body(Map.of("job", id));
    }

    /** Labels given since the last training run started. */
    @Get("/since")
    public Map<String, Integer> since() {
        return Map.of("labelledSinceLastTraining", trigger.sinceLastRun());
    }

    @Get
    public List<TrainingJobs.Job> list() {
        return jobs.list();
    }

    @Get("/{job}")
    public HttpResponse<?> get(@PathVariable String job) {
        return jobs.get(job).<HttpResponse<?>>map(HttpResponse::ok)
                .orElseGet(() -> HttpResponse.notFound(Map.of("error", "no training job '" + job + "'")));
    }

    @Delete("/{job}")
    public HttpResponse<?> cancel(@PathVariable String job) {
        if (jobs.get(job).isEmpty()) {
            return HttpResponse.notFound(Map.of("error", "no training job '" + job + "'"));
        }
        return jobs.cancel(job) ? HttpResponse.ok(jobs.get(job).orElseThrow())
                : HttpResponse.status(HttpStatus.CONFLICT).body(Map.of("error", "job " + job + " is already over"));
    }
}
