package dev.vigil.app.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.line.PartRecord;
import dev.vigil.app.service.InspectionPipeline;
import dev.vigil.app.service.VigilService;
import dev.vigil.config.DeviceConfig;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.eclipse.milo.opcua.sdk.client.OpcUaClient;
import org.eclipse.milo.opcua.sdk.client.api.identity.UsernameProvider;
import org.eclipse.milo.opcua.stack.core.security.SecurityPolicy;
import org.eclipse.milo.opcua.stack.core.types.builtin.DataValue;
import org.eclipse.milo.opcua.stack.core.types.builtin.NodeId;
import org.eclipse.milo.opcua.stack.core.types.builtin.Variant;
import org.eclipse.milo.opcua.stack.core.types.enumerated.TimestampsToReturn;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vigil benchmark-plc}: trigger-to-result latency of one triggered camera over Modbus TCP, OPC UA, HTTP and
 * MQTT, side by side in one run, at a steady trigger rate. Each protocol triggers the same camera with the same model;
 * "part" is trigger to the part being reported inside the service (the same point for all four), "seen" is trigger to
 * the PLC reading ResultReady = 1 (Modbus and OPC UA, polled every millisecond), each followed by the acknowledgement.
 */
@Command(name = "benchmark-plc", mixinStandardHelpOptions = true,
        description = "Trigger-to-result latency over Modbus TCP, OPC UA, HTTP and MQTT, side by side (p50/p99).")
public final class PlcBenchmark implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "PKG", description = "model package")
    Path model;

    @Option(names = "--images", required = true, paramLabel = "DIR", description = "images the triggered camera reads")
    Path images;

    @Option(names = "--triggers", description = "triggers per protocol (default ${DEFAULT-VALUE})")
    int triggers = 100;

    @Option(names = "--rate", description = "triggers per second (default ${DEFAULT-VALUE})")
    double rate = 10;

    @Option(names = "--mqtt", paramLabel = "URL", description = "broker for the MQTT row (e.g. tcp://127.0.0.1:1883);"
            + " left out = no MQTT row")
    String mqtt;

    @Option(names = "--poll-ms", description = "how often the PLC side reads ResultReady and Ready, ms (default"
            + " ${DEFAULT-VALUE}; on a small machine a tight poll takes CPU from inference)")
    int pollMs = 1;

    @Option(names = "--work", paramLabel = "DIR", description = "scratch folder (default: a temp folder)")
    Path work;

    private static final String USER = "bench-plc";
    private static final String PASSWORD = "benchmark only, not a secret";

    /** When each part of the run was reported, by part number (System.nanoTime). */
    private final Map<Long, Long> reported = new ConcurrentHashMap<>();

    @Override
    public Integer call() throws Exception {
        Path dir = work != null ? work : Files.createTempDirectory("vigil-plc-bench");
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        new AccountStore(data.resolve("accounts.json")).put(USER, AccountStore.Role.OPERATOR,
                PASSWORD.toCharArray());
        DeviceConfig config = new DeviceConfig(null, new DeviceConfig.Device("bench"), null,
                List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(images.toString(), 30, true), null,
                        "triggered")), new DeviceConfig.ModelSettings(model.toString(), false), null, null,
                new DeviceConfig.Mqtt(mqtt == null ? "tcp://127.0.0.1:9" : mqtt, null, null, null, null, null, 100,
                        null, null, 3600, null),
                new DeviceConfig.Storage(data.toString(), 64, null, 0.0, 0, null), new DeviceConfig.Web(0,
                        "127.0.0.1"), null, null, null, null,
                new DeviceConfig.Plc(10_000, 10_000, new DeviceConfig.Modbus(true, "127.0.0.1", 0, 1, null),
                        new DeviceConfig.OpcUa(true, "127.0.0.1", 0, false, List.of("none"))), null);
        ApplicationContext ctx = ServeCommand.start(config);
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            dev.vigil.app.line.PartStore store = ctx.getBean(VigilService.class).parts();
            p.line().partLog(r -> {
                record(r);
                store.record(r); // the traceability store stays in the loop, as in service
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!p.cameraStatus().get("cam1").state().name().equals("UP") && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            System.out.printf(Locale.ROOT, "%d triggers per protocol at %.0f/s; model %s; camera cam1 (folder %s)%n",
                    triggers, rate, p.model() == null ? "none" : p.model().id(), images);
            System.out.printf("%-8s %8s %8s %8s %8s %8s %8s%n", "trigger", "part p50", "part p99", "seen p50",
                    "seen p99", "max ms", "n");
            row("modbus", modbus(p));
            row("opcua", opcua(p));
            row("http", http(ctx, p));
            if (mqtt != null) {
                if (!awaitConnected(p)) {
                    System.out.println("mqtt     (no connection to " + mqtt + ": row left out)");
                } else {
                    row("mqtt", mqtt(p));
                }
            }
        } finally {
            ctx.close();
        }
        return 0;
    }

    private void record(PartRecord r) {
        reported.put(r.sequence(), System.nanoTime());
    }

    /** Per trigger: {part ms, seen ms (NaN when the trigger has no PLC view)}. */
    private record Sample(double part, double seen) {}

    private static void row(String name, List<Sample> s) {
        double[] part = s.stream().mapToDouble(Sample::part).filter(v -> !Double.isNaN(v)).sorted().toArray();
        double[] seen = s.stream().mapToDouble(Sample::seen).filter(v -> !Double.isNaN(v)).sorted().toArray();
        System.out.printf(Locale.ROOT, "%-8s %8.1f %8.1f %8s %8s %8.1f %8d%n", name, q(part, 0.5), q(part, 0.99),
                seen.length == 0 ? "-" : String.format(Locale.ROOT, "%.1f", q(seen, 0.5)),
                seen.length == 0 ? "-" : String.format(Locale.ROOT, "%.1f", q(seen, 0.99)),
                Math.max(part.length == 0 ? 0 : part[part.length - 1], seen.length == 0 ? 0 : seen[seen.length - 1]),
                part.length);
    }

    private static double q(double[] sorted, double p) {
        return sorted.length == 0 ? Double.NaN
                : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
    }

    private interface Trigger {
        /** Triggers part {@code n} and returns when the trigger left (System.nanoTime). */
        long fire(long n) throws Exception;
    }

    /** Waits for part {@code n} to be reported; its latency from {@code sent} in ms. */
    private double part(long n, long sent) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        Long at;
        while ((at = reported.get(n)) == null && System.nanoTime() < until) {
            Thread.sleep(0, 200_000);
        }
        return at == null ? Double.NaN : (at - sent) / 1e6;
    }

    private void pace(long start) throws InterruptedException {
        long rest = (long) (1e9 / rate) - (System.nanoTime() - start);
        if (rest > 0) {
            TimeUnit.NANOSECONDS.sleep(rest);
        }
    }

    private List<Sample> modbus(InspectionPipeline p) throws Exception {
        List<Sample> out = new ArrayList<>();
        try (RawModbus c = new RawModbus(p.line().modbusPort(), 1)) {
            for (int i = 0; i < triggers; i++) {
                long n = 10_000 + i;
                c.writeRegisters(1, 0, (int) n);
                long start = System.nanoTime();
                c.writeCoil(0, true);
                while (!c.discreteInput(2)) {
                    Thread.sleep(pollMs);
                }
                double seen = (System.nanoTime() - start) / 1e6;
                out.add(new Sample(part(n, start), seen));
                c.writeCoil(0, false);
                c.writeCoil(1, true);
                while (!c.discreteInput(0)) {
                    Thread.sleep(pollMs);
                }
                c.writeCoil(1, false);
                pace(start);
            }
        }
        return out;
    }

    /**
     * A minimal Modbus TCP client (MBAP frames over a socket: functions 02, 05 and 16), enough for a PLC's side of the
     * handshake; exceptions are thrown with their code.
     */
    static final class RawModbus implements AutoCloseable {
        private final java.net.Socket socket;
        private final java.io.DataOutputStream out;
        private final java.io.DataInputStream in;
        private final int unit;
        private int transaction;

        RawModbus(int port, int unit) throws java.io.IOException {
            this.socket = new java.net.Socket("127.0.0.1", port);
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(10_000);
            this.out = new java.io.DataOutputStream(new java.io.BufferedOutputStream(socket.getOutputStream()));
            this.in = new java.io.DataInputStream(new java.io.BufferedInputStream(socket.getInputStream()));
            this.unit = unit;
        }

        private byte[] call(byte[] pdu) throws java.io.IOException {
            int t = ++transaction & 0xFFFF;
            out.writeShort(t);
            out.writeShort(0);
            out.writeShort(pdu.length + 1);
            out.writeByte(unit);
            out.write(pdu);
            out.flush();
            int rt = in.readUnsignedShort();
            in.readUnsignedShort();
            int len = in.readUnsignedShort();
            in.readUnsignedByte();
            byte[] r = new byte[len - 1];
            in.readFully(r);
            if (rt != t) {
                throw new java.io.IOException("Modbus transaction " + rt + " answered, " + t + " asked");
            }
            if ((r[0] & 0x80) != 0) {
                throw new java.io.IOException("Modbus exception " + r[1] + " for function " + (r[0] & 0x7F));
            }
            return r;
        }

        void writeCoil(int address, boolean v) throws java.io.IOException {
            call(new byte[] {5, (byte) (address >> 8), (byte) address, (byte) (v ? 0xFF : 0), 0});
        }

        boolean discreteInput(int address) throws java.io.IOException {
            byte[] r = call(new byte[] {2, (byte) (address >> 8), (byte) address, 0, 1});
            return (r[2] & 1) == 1;
        }

        /** Writes two registers from {@code address}: {@code hi}, {@code lo}. */
        void writeRegisters(int address, int hi, int lo) throws java.io.IOException {
            call(new byte[] {16, (byte) (address >> 8), (byte) address, 0, 2, 4, (byte) (hi >> 8), (byte) hi,
                (byte) (lo >> 8), (byte) lo});
        }

        @Override
        public void close() throws java.io.IOException {
            socket.close();
        }
    }

    private List<Sample> opcua(InspectionPipeline p) throws Exception {
        OpcUaClient c = OpcUaClient.create(p.line().opcuaEndpoint(), endpoints -> endpoints.stream()
                .filter(e -> SecurityPolicy.None.getUri().equals(e.getSecurityPolicyUri())).findFirst(),
                b -> b.setIdentityProvider(new UsernameProvider(USER, PASSWORD)).build());
        c.connect().get(30, TimeUnit.SECONDS);
        int ns = Arrays.asList(c.getNamespaceTable().toArray()).indexOf("urn:vigil:plc");
        java.util.function.Function<String, NodeId> id = s -> new NodeId(ns, "Vigil/cam1/" + s);
        List<Sample> out = new ArrayList<>();
        try {
            for (int i = 0; i < triggers; i++) {
                long n = 20_000 + i;
                write(c, id.apply("NextPartSequence"), org.eclipse.milo.opcua.stack.core.types.builtin.unsigned
                        .Unsigned.uint(n));
                long start = System.nanoTime();
                write(c, id.apply("Trigger"), true);
                while (!read(c, id.apply("ResultReady"))) {
                    Thread.sleep(pollMs);
                }
                double seen = (System.nanoTime() - start) / 1e6;
                out.add(new Sample(part(n, start), seen));
                write(c, id.apply("Trigger"), false);
                write(c, id.apply("ResultAck"), true);
                while (!read(c, id.apply("Ready"))) {
                    Thread.sleep(pollMs);
                }
                write(c, id.apply("ResultAck"), false);
                pace(start);
            }
        } finally {
            c.disconnect().get(10, TimeUnit.SECONDS);
        }
        return out;
    }

    private static void write(OpcUaClient c, NodeId node, Object v) throws Exception {
        var s = c.writeValue(node, DataValue.valueOnly(new Variant(v))).get(10, TimeUnit.SECONDS);
        if (!s.isGood()) {
            throw new IllegalStateException("OPC UA write to " + node + " answered " + s);
        }
    }

    private static boolean read(OpcUaClient c, NodeId node) throws Exception {
        return Boolean.TRUE.equals(c.readValue(0, TimestampsToReturn.Neither, node).get(10, TimeUnit.SECONDS)
                .getValue().getValue());
    }

    private List<Sample> http(ApplicationContext ctx, InspectionPipeline p) throws Exception {
        String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
        HttpClient client = HttpClient.newHttpClient();
        HttpResponse<String> login = client.send(HttpRequest.newBuilder(URI.create(url + "/api/login"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        new ObjectMapper().writeValueAsString(Map.of("name", USER, "password", PASSWORD)))).build(),
                HttpResponse.BodyHandlers.ofString());
        if (login.statusCode() != 200) {
            throw new IllegalStateException("benchmark login failed: " + login.statusCode() + " " + login.body());
        }
        String cookie = login.headers().firstValue("set-cookie").orElseThrow().split(";")[0];
        String csrf = new ObjectMapper().readTree(login.body()).get("csrf").asText();
        return sequential(p, n -> {
            long start = System.nanoTime();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url + "/api/cameras/cam1/trigger"))
                    .header("Cookie", cookie).header("X-CSRF-Token", csrf).POST(HttpRequest.BodyPublishers.noBody())
                    .build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 202) {
                throw new IllegalStateException("trigger answered " + r.statusCode() + " " + r.body());
            }
            return start;
        });
    }

    private List<Sample> mqtt(InspectionPipeline p) throws Exception {
        String topic = dev.vigil.app.mqtt.Topics.of(p.config()).trigger("cam1");
        var client = new org.eclipse.paho.mqttv5.client.MqttClient(mqtt, "vigil-plc-bench",
                new org.eclipse.paho.mqttv5.client.persist.MemoryPersistence());
        client.connect();
        try {
            return sequential(p, n -> {
                long start = System.nanoTime();
                client.publish(topic, new byte[0], 1, false);
                return start;
            });
        } finally {
            client.disconnect();
            client.close();
        }
    }

    /** HTTP and MQTT triggers take the camera's own part numbers: the next one after the last reported. */
    private List<Sample> sequential(InspectionPipeline p, Trigger t) throws Exception {
        List<Sample> out = new ArrayList<>();
        for (int i = 0; i < triggers; i++) {
            long before = reported.keySet().stream().filter(k -> k < 10_000).mapToLong(Long::longValue).max()
                    .orElse(0);
            long start = t.fire(before + 1);
            out.add(new Sample(part(before + 1, start), Double.NaN));
            pace(start);
        }
        return out;
    }

    private static boolean awaitConnected(InspectionPipeline p) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!p.mqtt().connected() && System.nanoTime() < until) {
            Thread.sleep(50);
        }
        return p.mqtt().connected();
    }
}
