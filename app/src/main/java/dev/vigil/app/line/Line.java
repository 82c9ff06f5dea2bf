package dev.vigil.app.line;

import dev.vigil.config.DeviceConfig;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;

/**
 * The service's side of the production line: parts ({@link PartTracker}), lots, the per-camera PLC stations and the
 * Modbus and OPC UA servers that expose them (each only when enabled). The PLC stations address the cameras as
 * configured at start; the servers' keys apply at the next start.
 */
public final class Line implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Line.class.getName());
    private final Lots lots = new Lots();
    private final DelegatingLog log = new DelegatingLog();
    private final PartTracker parts;
    private final LineStations stations;
    private final DeviceConfig.Plc plc;
    /** Deadlines, acknowledgement timeouts and the heartbeat: a thread of their own, never behind housekeeping. */
    private final ScheduledExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
            r -> {
                Thread t = new Thread(r, "vigil-line");
                t.setDaemon(true);
                t.setPriority(Thread.MAX_PRIORITY);
                return t;
            });
    private PlcModbusServer modbus;
    private PlcOpcUaServer opcua;

    /**
     * @param config the configuration now (deadline and ack timeout are read at each use)
     * @param labels the serving model's labels (empty without one)
     */
    public Line(Supplier<DeviceConfig> config, PartTracker.Capture capture, Supplier<List<String>> labels,
            MeterRegistry metrics) {
        DeviceConfig c = config.get();
        this.plc = c.plc();
        this.parts = new PartTracker(capture, log, lots, () -> config.get().plc().deadlineMs(), scheduler, metrics);
        this.stations = new LineStations(c.cameras().stream().map(DeviceConfig.Camera::id).toList(), parts, lots,
                labels, () -> config.get().plc().ackTimeoutMs(), scheduler, metrics);
    }

    /** Starts the PLC servers that are enabled; an account store signs OPC UA users in. */
    public void start(dev.vigil.app.auth.AccountStore accounts, java.nio.file.Path dataDir) {
        if (plc.modbus().enabled()) {
            modbus = new PlcModbusServer(plc.modbus(), stations);
        }
        if (plc.opcua().enabled()) {
            try {
                opcua = new PlcOpcUaServer(plc.opcua(), stations, accounts, dataDir.resolve("pki"));
            } catch (RuntimeException e) {
                close(); // the Modbus server, if it started, goes with it: the service does not start half a line
                throw e;
            }
        }
    }

    /**
     * The port a PLC server listens on: {@code configured}, or a free one on {@code host} when it is 0.
     *
     * @param key the configuration key, for the error
     */
    static int port(String host, int configured, String key) {
        if (configured != 0) {
            return configured;
        }
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(host))) {
            return s.getLocalPort();
        } catch (java.io.IOException e) {
            throw new dev.vigil.core.VigilException(key + ".host " + host + ": " + e.getMessage());
        }
    }

    /** Where part records go from now on (the traceability store). */
    public void partLog(PartLog target) {
        log.target = target == null ? PartLog.NONE : target;
    }

    public PartTracker parts() {
        return parts;
    }

    public Lots lots() {
        return lots;
    }

    public LineStations stations() {
        return stations;
    }

    /** The Modbus server's port; -1 when it is off. */
    public int modbusPort() {
        return modbus == null ? -1 : modbus.port();
    }

    /** The OPC UA server's endpoint URL; null when it is off. */
    public String opcuaEndpoint() {
        return opcua == null ? null : opcua.endpoint();
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
        if (modbus != null) {
            modbus.close();
        }
        if (opcua != null) {
            opcua.close();
        }
    }

    private static final class DelegatingLog implements PartLog {
        volatile PartLog target = PartLog.NONE;

        @Override
        public void record(PartRecord part) {
            target.record(part);
        }
    }
}
