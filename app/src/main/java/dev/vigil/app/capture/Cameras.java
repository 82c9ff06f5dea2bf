package dev.vigil.app.capture;

import dev.vigil.config.DeviceConfig;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The capture stage: one {@link CameraRunner} per configured camera, each handing its frames to the same
 * {@link FrameSink} on its own thread, with its metrics ({@code vigil.camera.*}, {@code vigil.frames.*}). A
 * configuration change restarts only the cameras whose capture settings (source, settings, roi, trigger) changed.
 */
public final class Cameras implements AutoCloseable {
    /** What a configuration change did: cameras removed, and cameras (re)started with their new settings. */
    public record Changes(List<String> removed, List<DeviceConfig.Camera> started, List<String> report) {}

    private final Map<String, CameraRunner> runners = new LinkedHashMap<>();
    private final FrameSink sink;
    private final MeterRegistry metrics;
    private volatile boolean running;

    public Cameras(List<DeviceConfig.Camera> cameras, FrameSink sink, MeterRegistry metrics) {
        this.sink = sink;
        this.metrics = metrics;
        cameras.forEach(this::add);
    }

    private CameraRunner add(DeviceConfig.Camera c) {
        CameraRunner runner = new CameraRunner(c, sink);
        runners.put(c.id(), runner);
        // the gauges look the runner up, so a camera restarted by a configuration change keeps its metrics
        String id = c.id();
        List<Tag> tags = List.of(Tag.of("camera", id));
        metrics.gauge("vigil.camera.fps", tags, runners, m -> m.containsKey(id) ? m.get(id).status().fps()
                : Double.NaN);
        metrics.gauge("vigil.camera.up", tags, runners, m -> m.containsKey(id)
                && m.get(id).status().state() != CameraStatus.State.DOWN ? 1 : 0);
        // monotonic counts are counters (Prometheus: _total), so rates and fleet sums work
        FunctionCounter.builder("vigil.frames.captured", runners, m -> m.containsKey(id)
                ? m.get(id).status().frames() : 0).tags(tags).description("frames read from the camera")
                .register(metrics);
        FunctionCounter.builder("vigil.frames.corrupt", runners, m -> m.containsKey(id)
                ? m.get(id).status().corruptFrames() : 0).tags(tags).description("frames that could not be decoded")
                .register(metrics);
        FunctionCounter.builder("vigil.camera.reconnects", runners, m -> m.containsKey(id)
                ? m.get(id).status().reconnects() : 0).tags(tags).register(metrics);
        return runner;
    }

    public synchronized void start() {
        running = true;
        runners.values().forEach(CameraRunner::start);
    }

    /** Applies {@code next}'s cameras: removed ones stop, added ones and those whose capture changed (re)start. */
    public synchronized Changes reconfigure(DeviceConfig old, DeviceConfig next) {
        List<String> removed = new ArrayList<>();
        List<DeviceConfig.Camera> started = new ArrayList<>();
        List<String> report = new ArrayList<>();
        for (DeviceConfig.Camera c : old.cameras()) {
            if (next.camera(c.id()).isEmpty()) {
                stop(c.id());
                removed.add(c.id());
                report.add(c.id() + " (removed)");
            }
        }
        for (DeviceConfig.Camera c : next.cameras()) {
            DeviceConfig.Camera was = old.camera(c.id()).orElse(null);
            boolean capture = was == null || !was.source().equals(c.source()) || !was.settings().equals(c.settings())
                    || !Objects.equals(was.roi(), c.roi()) || !was.trigger().equals(c.trigger());
            if (capture) {
                stop(c.id());
                CameraRunner fresh = add(c);
                if (running) {
                    fresh.start();
                }
                started.add(c);
                report.add(c.id() + (was == null ? " (added)" : ""));
            }
        }
        return new Changes(removed, started, report);
    }

    private void stop(String id) {
        CameraRunner r = runners.remove(id);
        if (r != null) {
            r.close();
        }
    }

    /** Takes one frame now from a triggered camera; false when there is no such camera. */
    public synchronized boolean trigger(String camera) {
        CameraRunner r = runners.get(camera);
        if (r == null) {
            return false;
        }
        r.trigger();
        return true;
    }

    /**
     * Takes one frame from a triggered camera for the part {@code token}: false when there is no such camera, it is
     * continuous, not connected, or has too many triggers waiting (the runner's own answer, unlike
     * {@link #trigger(String)}).
     */
    public synchronized boolean trigger(String camera, long token) {
        CameraRunner r = runners.get(camera);
        return r != null && r.trigger(token);
    }

    /** Whether {@code camera} exists and is triggered. */
    public synchronized boolean triggered(String camera) {
        CameraRunner r = runners.get(camera);
        return r != null && r.triggered();
    }

    /** Every camera's status, in the order the cameras were (re)started. */
    public synchronized Map<String, CameraStatus> status() {
        Map<String, CameraStatus> m = new LinkedHashMap<>();
        runners.forEach((id, r) -> m.put(id, r.status()));
        return m;
    }

    @Override
    public synchronized void close() {
        running = false;
        runners.values().forEach(CameraRunner::close);
    }
}
