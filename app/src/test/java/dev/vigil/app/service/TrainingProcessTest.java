package dev.vigil.app.service;

import dev.vigil.app.testing.SchedulingPolicy;

import dev.vigil.app.testing.TestConfig;

import static dev.vigil.app.service.ApiClient.send;
import static dev.vigil.app.testing.Await.await;
import static dev.vigil.app.service.ServiceEndToEndTest.get;
import static dev.vigil.app.service.ServiceEndToEndTest.login;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.samples.Sample;
import dev.vigil.app.testing.TestModels;
import dev.vigil.config.DeviceConfig;
import dev.vigil.trainer.SharedAssets;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training runs in a process of its own: {@code kill -9} of that process mid-run marks the job failed with the
 * reason, and leaves the service (still inspecting and alive), the registry and the sample store as they were.
 */
class TrainingProcessTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    @Test
    void killingTheTrainingProcessFailsTheJobAndNothingElse() throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine();
        Path pkg = TestModels.casting(tmp, "active", 0, 12, 5, 1L);
        Path frames = tmp.resolve("frames");
        TestModels.linkFrames(SharedAssets.casting().resolve("test"), frames, 0, 9); // 16 to label, 2 after
        Path data = tmp.resolve("data");
        new AccountStore(data.resolve("accounts.json")).put("admin", AccountStore.Role.ADMIN,
                "admin secret 1".toCharArray());
        DeviceConfig c = TestConfig.offline("line6", data)
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(frames.toString(), 8,
                        false), null, "triggered")))
                .model(new DeviceConfig.ModelSettings(pkg.toString(), false))
                .training(new DeviceConfig.Training(SharedAssets.squeezenet().toString(), 0, 2000, null, null, null,
                        0, null, 1, 1024, null).withLearningCurve(false))
                .build();
        ApplicationContext ctx = ServeCommand.start(c);
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            ServiceEndToEndTest.triggerOneByOne(p, "cam1", 16);
            String[] admin = login(url, "admin", "admin secret 1");
            for (Sample s : p.samples().list(null, 100)) {
                assertEquals(200, send("POST", url + "/api/samples/" + s.id() + "/label", "{\"label\":\""
                        + (s.source().startsWith("defective") ? "defective" : "ok") + "\"}", admin).statusCode());
            }
            int versions = p.registry().entries().size();
            long samples = p.samples().count();
            var started = send("POST", url + "/api/training", "", admin);
            assertEquals(202, started.statusCode(), started.body());
            String job = JSON.readTree(started.body()).get("job").asText();
            try {
                // killed as soon as it runs: with early stopping a run on 12 images is over in seconds
                await(() -> child().isPresent() || !TrainingApiTest.state(url, job, admin).matches("QUEUED|RUNNING"),
                        Duration.ofSeconds(90), "the training process");
            } finally {
                System.out.println("job: " + get(url + "/api/training/" + job, admin).body().substring(0, 120));
            }
            assertEquals("RUNNING", TrainingApiTest.state(url, job, admin));
            ProcessHandle trainer = child().orElseThrow();
            assertTrue(cmdline(trainer).contains("--progress\0json"), cmdline(trainer));
            if (Files.isExecutable(Path.of("/usr/bin/chrt"))) {
                // SCHED_IDLE: CPU only when inspection idles
                assertEquals(SchedulingPolicy.SCHED_IDLE, SchedulingPolicy.of(Path.of("/proc",
                        Long.toString(trainer.pid()), "stat")), "the training process's scheduling policy");
            }
            trainer.destroyForcibly(); // SIGKILL
            await(() -> TrainingApiTest.state(url, job, admin).equals("FAILED"), Duration.ofSeconds(30), "the job failed");
            JsonNode j = JSON.readTree(get(url + "/api/training/" + job, admin).body());
            assertTrue(j.get("error").asText().contains("killed (signal 9)"), j.toString());
            assertEquals(versions, p.registry().entries().size(), "no candidate from a killed run");
            assertEquals(samples, p.samples().count(), "the samples are all there");
            assertEquals(200, get(url + "/health/liveness").statusCode(), "the service lives on");
            p.trigger("cam1");
            await(() -> p.samples().count() == samples + 1, Duration.ofSeconds(30), "and still inspects");
            await(() -> !Files.exists(data.resolve("training").resolve(job)), Duration.ofSeconds(10),
                    "the run's scratch folder removed");
        } finally {
            ctx.close();
        }
    }

    /** The training process: a child of this JVM running {@code vigil train}. */
    private static Optional<ProcessHandle> child() {
        return ProcessHandle.current().descendants().filter(h -> cmdline(h).contains("dev.vigil.app.Vigil\0train"))
                .findFirst();
    }

    /** The process's arguments as /proc has them, NUL-separated. */
    private static String cmdline(ProcessHandle h) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(h.pid()), "cmdline"));
        } catch (Exception e) {
            return "";
        }
    }
}
