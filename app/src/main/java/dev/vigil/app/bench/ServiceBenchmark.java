package dev.vigil.app.bench;

import dev.vigil.app.inference.LoadedModel;
import dev.vigil.app.service.InspectionPipeline;
import dev.vigil.config.DeviceConfig;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.core.image.ImageIo;
import dev.vigil.core.image.Variant;
import io.micrometer.core.instrument.Timer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vigil benchmark-service}: the inspection pipeline against the bare model, in one run. Prints the raw ONNX
 * Runtime throughput of the package's model (forward only, one image per call, as the pipeline runs one camera),
 * the pipeline's throughput with a folder camera replaying as fast as it can, the ratio of the two, per-frame latency
 * (capture to verdict) p50/p99 at a fixed 10 frames/s, resident memory in steady state, and the time from start to
 * the first verdict.
 */
@Command(name = "benchmark-service", mixinStandardHelpOptions = true,
        description = "Pipeline throughput vs raw ONNX Runtime, latency at 10 frames/s, memory, time to first verdict.")
public final class ServiceBenchmark implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "PKG", description = "model package")
    Path model;

    @Option(names = "--images", required = true, paramLabel = "DIR", description = "images replayed by the camera")
    Path images;

    @Option(names = "--seconds", description = "length of each measurement (default ${DEFAULT-VALUE})")
    int seconds = 15;

    @Option(names = "--work", paramLabel = "DIR", description = "scratch folder (default: a temp folder)")
    Path work;

    @Option(names = "--while-training", paramLabel = "DIR", description = "also measure the 10 frames/s latency while"
            + " a retraining job runs beside the service: the service's own training process (vigil train as a child,"
            + " idle CPU class, cores less one, 2048 MiB) on DIR (one folder per class), with a cold feature cache")
    Path whileTraining;

    @Option(names = "--training-backbone", paramLabel = "FILE", description = "backbone of --while-training (default:"
            + " the catalog's squeezenet1.1-fp16)")
    String trainingBackbone = "squeezenet1.1-fp16";

    @Option(names = "--login-flood", paramLabel = "RATE", description = "also measure the 10 frames/s latency of the"
            + " whole service (HTTP included) idle and while RATE wrong passwords a second hit /api/login, each for"
            + " --seconds (0 = off; e.g. 50)")
    int loginFlood;

    @Override
    public Integer call() throws Exception {
        Path dir = work != null ? work : Files.createTempDirectory("vigil-bench-service");
        List<Path> files;
        try (Stream<Path> s = Files.walk(images)) {
            files = s.filter(Files::isRegularFile).filter(ImageDataset::isImageName)
                    .sorted().limit(200).toList();
        }
        if (files.isEmpty()) {
            throw new dev.vigil.core.VigilException("--images " + images + " holds no images");
        }
        Path flat = dir.resolve("frames");
        Files.createDirectories(flat);
        for (int i = 0; i < files.size(); i++) {
            Path link = flat.resolve(String.format("%05d-%s", i, files.get(i).getFileName()));
            if (!Files.exists(link)) {
                Files.createSymbolicLink(link, files.get(i).toAbsolutePath());
            }
        }

        double raw = rawThroughput(files);
        System.out.printf(Locale.ROOT, "raw ONNX Runtime (forward only, 1 image per call): %.1f frames/s%n", raw);

        // Can the pipeline keep up with a camera at 90% of the bare model's rate? A camera faster than the pipeline
        // would also spend CPU decoding frames that newest-frame-wins then drops, so the offered rate matters.
        double offered = Math.min(240, raw * 0.9);
        Run fast = runPipeline(dir.resolve("fast"), flat, offered);
        System.out.printf(Locale.ROOT, "pipeline, folder camera offering %.0f frames/s (0.9x raw): %.1f frames/s ="
                + " %.2fx raw (%d frames in %.1f s, %d dropped by newest-frame-wins)%n", offered, fast.fps,
                fast.fps / raw, fast.frames, fast.seconds, fast.dropped);
        Run saturated = runPipeline(dir.resolve("saturated"), flat, Math.min(240, raw * 1.5));
        System.out.printf(Locale.ROOT, "pipeline, folder camera offering %.0f frames/s (1.5x raw): %.1f frames/s ="
                + " %.2fx raw (%d dropped)%n", Math.min(240, raw * 1.5), saturated.fps, saturated.fps / raw,
                saturated.dropped);
        System.out.printf(Locale.ROOT, "start to first verdict: %.2f s (model load + camera open + first frame)%n",
                fast.firstVerdictSeconds);

        Run paced = runPipeline(dir.resolve("paced"), flat, 10);
        System.out.printf(Locale.ROOT, "pipeline at 10 frames/s: %.1f frames/s, latency capture->verdict p50 %.1f ms,"
                + " p99 %.1f ms; resident memory %.0f MiB%n", paced.fps, paced.p50, paced.p99, paced.rssMiB);
        if (whileTraining != null) {
            Run busy = duringTraining(dir, flat);
            System.out.printf(Locale.ROOT, "pipeline at 10 frames/s while a retraining job runs: %.1f frames/s,"
                    + " latency p50 %.1f ms, p99 %.1f ms = %.2fx the idle p99 (%.1f ms)%n", busy.fps, busy.p50,
                    busy.p99, busy.p99 / paced.p99, paced.p99);
        }
        if (loginFlood > 0) {
            Run quiet = serviceRun(dir.resolve("service-idle"), flat, 0);
            Run flooded = serviceRun(dir.resolve("service-flood"), flat, loginFlood);
            System.out.printf(Locale.ROOT, "whole service at 10 frames/s, idle: latency p50 %.1f ms, p99 %.1f ms;"
                    + " while %d wrong passwords/s hit /api/login: p50 %.1f ms, p99 %.1f ms = %.2fx the idle p99%n",
                    quiet.p50, quiet.p99, loginFlood, flooded.p50, flooded.p99, flooded.p99 / quiet.p99);
        }
        return 0;
    }

    /**
     * The whole service (HTTP, sessions, the pipeline) on a folder camera at 10 frames/s for {@link #seconds}; with
     * {@code floodRate > 0}, a client meanwhile posts that many wrong passwords a second for an existing account.
     */
    private Run serviceRun(Path data, Path frames, int floodRate) throws Exception {
        Files.createDirectories(data);
        new dev.vigil.app.auth.AccountStore(data.resolve("accounts.json")).put("admin",
                dev.vigil.app.auth.AccountStore.Role.ADMIN, "the right password".toCharArray());
        DeviceConfig c = config(data, frames, 10);
        Instant start = Instant.now();
        try (io.micronaut.context.ApplicationContext ctx = dev.vigil.app.ServeCommand.start(c)) {
            InspectionPipeline p = ctx.getBean(dev.vigil.app.service.VigilService.class).pipeline();
            while (p.firstVerdict() == null) {
                if (Duration.between(start, Instant.now()).toSeconds() > 120) {
                    throw new IllegalStateException("no verdict within 120 s; is the model package valid?");
                }
                Thread.sleep(20);
            }
            Thread.sleep(2000);
            String login = ctx.getBean(io.micronaut.runtime.server.EmbeddedServer.class).getURL() + "/api/login";
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            java.util.Map<Integer, java.util.concurrent.atomic.AtomicLong> answers =
                    new java.util.concurrent.ConcurrentSkipListMap<>();
            java.util.concurrent.ScheduledExecutorService flood = null;
            if (floodRate > 0) {
                flood = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
                java.util.concurrent.atomic.AtomicLong n = new java.util.concurrent.atomic.AtomicLong();
                flood.scheduleAtFixedRate(() -> http.sendAsync(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(login)).header("Content-Type", "application/json")
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"name\":\"admin\",\"password\":"
                                + "\"wrong " + n.incrementAndGet() + "\"}")).build(),
                        java.net.http.HttpResponse.BodyHandlers.discarding()).thenAccept(r -> answers
                                .computeIfAbsent(r.statusCode(), k -> new java.util.concurrent.atomic.AtomicLong())
                                .incrementAndGet()),
                        0, 1_000_000L / floodRate, TimeUnit.MICROSECONDS);
            }
            long before = verdicts(p);
            long t0 = System.nanoTime();
            Thread.sleep(seconds * 1000L);
            double secs = (System.nanoTime() - t0) / 1e9;
            if (flood != null) {
                flood.shutdownNow();
                System.out.printf(Locale.ROOT, "login flood: %d wrong passwords/s for %.0f s; answers by status %s"
                        + " (401: hashed and refused; 429/503: throttled before hashing)%n", floodRate, secs, answers);
            }
            long n = verdicts(p) - before;
            Timer latency = ctx.getBean(io.micrometer.prometheusmetrics.PrometheusMeterRegistry.class)
                    .find("vigil.frame.latency").timer();
            double p50 = percentileMs(latency, 0.5);
            double p99 = percentileMs(latency, 0.99);
            return new Run(n / secs, n, secs, 0, 0, p50, p99, rssMiB());
        }
    }

    /** The paced run again, with the service's training process working on {@link #whileTraining} meanwhile. */
    private Run duringTraining(Path dir, Path flat) throws Exception {
        DeviceConfig.Training t = new DeviceConfig.Training(null, null, null, null, null, null, null, null);
        List<String> args = List.of("--data", whileTraining.toString(), "--backbone", trainingBackbone, "--out",
                dir.resolve("trained-" + System.nanoTime()).toString(), "--unfreeze", "0", "--epochs", "40",
                "--cache", dir.resolve("train-cache-" + System.nanoTime()).toString());
        dev.vigil.app.training.TrainingProcess child = new dev.vigil.app.training.TrainingProcess(args,
                t.threadsOrDefault(), t.maxMemoryMb());
        java.util.concurrent.atomic.AtomicReference<String> last = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();
        Thread runner = new Thread(() -> {
            try {
                child.run(t.threadsOrDefault(), l -> last.set(l.text()));
            } catch (Exception e) {
                last.set(String.valueOf(e.getMessage()));
            } finally {
                ended.set(true);
            }
        }, "bench-training");
        runner.start();
        Thread.sleep(5000); // the child started and is extracting features
        Run busy;
        try {
            busy = runPipeline(dir.resolve("training"), flat, 10);
        } finally {
            boolean endedEarly = ended.get();
            child.stop();
            runner.interrupt();
            runner.join(15_000);
            System.out.printf(Locale.ROOT, "the training process %s (its last line: %s)%n", endedEarly
                    ? "had ended before the measurement did: the figure below is partly idle" : "ran throughout",
                    last.get());
        }
        return busy;
    }

    private double rawThroughput(List<Path> files) {
        try (LoadedModel m = LoadedModel.open(model, "cpu")) {
            Preprocessing pre = m.preprocessing();
            List<float[]> inputs = new ArrayList<>();
            for (Path f : files.subList(0, Math.min(50, files.size()))) {
                inputs.add(ImageIo.preprocess(ImageIo.read(f), pre, Variant.ORIGINAL, f.toString()));
            }
            for (int i = 0; i < 10; i++) {
                m.classify(inputs.get(i % inputs.size()), 1);
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.max(3, seconds / 2));
            long t0 = System.nanoTime();
            int n = 0;
            while (System.nanoTime() < end) {
                m.classify(inputs.get(n % inputs.size()), 1);
                n++;
            }
            return n / ((System.nanoTime() - t0) / 1e9);
        }
    }

    private record Run(double fps, long frames, double seconds, long dropped, double firstVerdictSeconds, double p50,
            double p99, double rssMiB) {}

    private Run runPipeline(Path data, Path frames, double fps) throws Exception {
        DeviceConfig c = config(data, frames, fps);
        // the Prometheus registry, as the service has: it keeps the latency histograms the percentiles come from
        io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry = new io.micrometer.prometheusmetrics
                .PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
        Instant start = Instant.now();
        try (InspectionPipeline p = new InspectionPipeline(c, registry)) {
            p.start();
            while (p.firstVerdict() == null) {
                if (Duration.between(start, Instant.now()).toSeconds() > 120) {
                    throw new IllegalStateException("no verdict within 120 s; is the model package valid?");
                }
                Thread.sleep(20);
            }
            double first = Duration.between(start, p.firstVerdict()).toNanos() / 1e9;
            Thread.sleep(2000);
            long before = verdicts(p);
            long droppedBefore = p.status().cameras().get(0).dropped();
            Timer latency = registry.find("vigil.frame.latency").timer();
            long t0 = System.nanoTime();
            Thread.sleep(seconds * 1000L);
            double secs = (System.nanoTime() - t0) / 1e9;
            long n = verdicts(p) - before;
            double p50 = percentileMs(latency, 0.5);
            double p99 = percentileMs(latency, 0.99);
            return new Run(n / secs, n, secs, p.status().cameras().get(0).dropped() - droppedBefore, first, p50, p99,
                    rssMiB());
        }
    }

    /**
     * The timer's percentile {@code q} in milliseconds, interpolated in its histogram (the service publishes
     * latencies as histograms); NaN when it has recorded nothing.
     */
    static double percentileMs(Timer timer, double q) {
        if (timer == null) {
            return Double.NaN;
        }
        io.micrometer.core.instrument.distribution.HistogramSnapshot s = timer.takeSnapshot();
        io.micrometer.core.instrument.distribution.CountAtBucket[] buckets = s.histogramCounts();
        if (s.count() == 0 || buckets.length == 0) {
            return Double.NaN;
        }
        double target = q * s.count();
        double below = 0;
        double lowerMs = 0;
        for (io.micrometer.core.instrument.distribution.CountAtBucket b : buckets) {
            double upTo = b.count(); // the Prometheus registry's buckets are cumulative
            double upperMs = b.bucket(TimeUnit.MILLISECONDS);
            if (upTo >= target) {
                double inBucket = Math.max(1e-9, upTo - below);
                return lowerMs + (target - below) / inBucket * (upperMs - lowerMs);
            }
            below = upTo;
            lowerMs = upperMs;
        }
        return s.max(TimeUnit.MILLISECONDS);
    }

    /**
     * One folder camera replaying {@code frames} at {@code fps}, this benchmark's model, no broker (alerts wait in the
     * journal), no samples flagged, the web server on a free port.
     */
    private DeviceConfig config(Path data, Path frames, double fps) {
        return new DeviceConfig(null, new DeviceConfig.Device("bench"), null,
                List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(frames.toString(), fps, true), null,
                        null)),
                new DeviceConfig.ModelSettings(model.toString(), false), null, null,
                new DeviceConfig.Mqtt("tcp://127.0.0.1:9", null, null, null, null, null, 100, null, null, 3600, null),
                new DeviceConfig.Storage(data.toString(), 64, null, 0.0, 0, null), new DeviceConfig.Web(0, null), null,
                null, null, null, null, null);
    }

    private static long verdicts(InspectionPipeline p) {
        return p.status().verdicts().entrySet().stream().filter(e -> !e.getKey().equals("unclassified"))
                .mapToLong(java.util.Map.Entry::getValue).sum();
    }

    static double rssMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}
