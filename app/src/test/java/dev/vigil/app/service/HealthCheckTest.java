package dev.vigil.app.service;

import dev.vigil.app.testing.TestConfig;

import static dev.vigil.app.testing.Await.await;
import static dev.vigil.app.service.ServiceEndToEndTest.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.ServeCommand;
import dev.vigil.config.DeviceConfig;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real {@code vigil-healthcheck} script against a running service, with a stand-in {@code systemctl} that records
 * what it is asked: a camera that is down makes the service unready but never gets it restarted; an inspection loop
 * that is stuck does, after the configured number of failed checks.
 */
class HealthCheckTest {
    private static final Path SCRIPT = Path.of("../deploy/src/dist/bin/vigil-healthcheck").toAbsolutePath();
    @TempDir
    Path tmp;

    @Test
    void aCameraDownIsNoReasonToRestartButAStuckInspectionLoopIs() throws Exception {
        Path live = tmp.resolve("live");
        ApiClient.writeFrames(live, 3, 64, 48);
        Path data = tmp.resolve("data");
        DeviceConfig c = TestConfig.device("line7")
                .cameras(List.of(new DeviceConfig.Camera("live", DeviceConfig.Source.folder(live.toString(), 10,
                        true), null, null), new DeviceConfig.Camera("gone",
                        DeviceConfig.Source.folder(tmp.resolve("unplugged").toString(), 10, true), null, null)))
                .offline()
                .storage(new DeviceConfig.Storage(data.toString(), null, null, null, null, null))
                .build();
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path calls = tmp.resolve("systemctl.calls");
        Path fake = bin.resolve("systemctl");
        Files.writeString(fake, "#!/bin/bash\necho \"$*\" >> " + calls + "\ncase \"$1\" in\n  show) echo 0 ;;\nesac\n"
                + "exit 0\n");
        assertTrue(fake.toFile().setExecutable(true));
        String previous = System.getProperty("vigil.liveness.stuckSeconds");
        System.setProperty("vigil.liveness.stuckSeconds", "2");
        ApplicationContext ctx = ServeCommand.start(c);
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            await(() -> p.cameraStatus().get("gone").state().name().equals("DOWN"), Duration.ofSeconds(10),
                    "the unplugged camera down");
            assertTrue(Files.readString(data.resolve(ServiceStateFile.FILE)).contains("\"port\" : "
                    + ctx.getBean(EmbeddedServer.class).getPort()), "the port it listens on, for the check");
            assertEquals(503, get(url + "/health/readiness").statusCode(), "not ready: a camera is down");
            for (int i = 0; i < 4; i++) {
                check(bin, data);
            }
            assertFalse(Files.exists(calls) && Files.readString(calls).contains("restart"), "no restart for a camera: "
                    + (Files.exists(calls) ? Files.readString(calls) : ""));

            // the inspection loop stalls: it waits for a lock the test holds while frames keep coming
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Thread staller = new Thread(() -> {
                synchronized (p.modelLockForTests()) {
                    held.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            staller.start();
            held.await();
            try {
                await(() -> statusOf(url + "/health/liveness") == 503, Duration.ofSeconds(15), "liveness down");
                for (int i = 0; i < 3; i++) {
                    check(bin, data);
                }
                String log = Files.readString(calls, StandardCharsets.UTF_8);
                assertEquals(1, log.lines().filter(l -> l.equals("restart vigil.service")).count(), log);
            } finally {
                release.countDown();
                staller.join();
            }
            await(() -> statusOf(url + "/health/liveness") == 200, Duration.ofSeconds(10), "alive again");
        } finally {
            ctx.close();
            if (previous == null) {
                System.clearProperty("vigil.liveness.stuckSeconds");
            } else {
                System.setProperty("vigil.liveness.stuckSeconds", previous);
            }
        }
    }

    private static int statusOf(String url) {
        try {
            return get(url).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    /** One run of the script as the timer runs it, with the stand-in systemctl first on the PATH. */
    private static void check(Path bin, Path stateDir) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", SCRIPT.toString()).redirectErrorStream(true);
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        pb.environment().put("STATE_DIRECTORY", stateDir.toString());
        Process proc = pb.start();
        proc.getInputStream().readAllBytes();
        assertEquals(0, proc.waitFor());
    }
}
