package dev.vigil.app.testing;

import dev.vigil.config.DeviceConfig;
import java.util.List;

/**
 * Device configurations for tests, by name rather than by position: the sections a test cares about, defaults for
 * the rest ({@code TestConfig.device("line1").camera(...).mqtt(...).build()}).
 */
public final class TestConfig {
    private final DeviceConfig.Device device;
    private List<DeviceConfig.Camera> cameras;
    private DeviceConfig.ModelSettings model;
    private DeviceConfig.Decision decision;
    private DeviceConfig.Mqtt mqtt;
    private DeviceConfig.Storage storage;
    private DeviceConfig.Web web;
    private DeviceConfig.Training training;
    private DeviceConfig.Drift drift;
    private DeviceConfig.Plc plc;
    private DeviceConfig.Parts parts;

    private TestConfig(DeviceConfig.Device device) {
        this.device = device;
    }

    public static TestConfig device(String id) {
        return new TestConfig(new DeviceConfig.Device(id));
    }

    public static TestConfig device(DeviceConfig.Device device) {
        return new TestConfig(device);
    }

    /**
     * A service test's usual device: no broker reachable (alerts wait in the journal; status every 60 s), data in
     * {@code data} with every ok frame flagged for audit (so every judged frame becomes a sample), the web server on a
     * free loopback port.
     */
    public static TestConfig offline(String id, java.nio.file.Path data) {
        return device(id).offline().storage(new DeviceConfig.Storage(data.toString(), null, null, 1.0, null, null));
    }

    /** No broker reachable (alerts wait in the journal; status every 60 s), the web server on a free loopback port. */
    public TestConfig offline() {
        return mqtt(new DeviceConfig.Mqtt("tcp://127.0.0.1:9", null, null, null, null, null, null, null, null, 60,
                null)).web(new DeviceConfig.Web(0, "127.0.0.1"));
    }

    public TestConfig cameras(List<DeviceConfig.Camera> cameras) {
        this.cameras = cameras;
        return this;
    }

    public TestConfig model(DeviceConfig.ModelSettings model) {
        this.model = model;
        return this;
    }

    public TestConfig decision(DeviceConfig.Decision decision) {
        this.decision = decision;
        return this;
    }

    public TestConfig mqtt(DeviceConfig.Mqtt mqtt) {
        this.mqtt = mqtt;
        return this;
    }

    public TestConfig storage(DeviceConfig.Storage storage) {
        this.storage = storage;
        return this;
    }

    public TestConfig web(DeviceConfig.Web web) {
        this.web = web;
        return this;
    }

    public TestConfig training(DeviceConfig.Training training) {
        this.training = training;
        return this;
    }

    public TestConfig drift(DeviceConfig.Drift drift) {
        this.drift = drift;
        return this;
    }

    public TestConfig plc(DeviceConfig.Plc plc) {
        this.plc = plc;
        return this;
    }

    public TestConfig parts(DeviceConfig.Parts parts) {
        this.parts = parts;
        return this;
    }

    public DeviceConfig build() {
        return new DeviceConfig(null, device, null, cameras, model, null, decision, mqtt, storage, web, training, null,
                null, drift, plc, parts);
    }
}
