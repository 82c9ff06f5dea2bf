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

/** Background retraining: start (admin), follow progress, cancel (admin). The result is a registry candidate. */
@Controller("/api/training")
public class TrainingController {
    private final TrainingJobs jobs;
    private final AutoTrainTrigger trigger;

    public TrainingController(TrainingJobs jobs, AutoTrainTrigger trigger) {
        this.jobs = jobs;
        this.trigger = trigger;
    }

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
