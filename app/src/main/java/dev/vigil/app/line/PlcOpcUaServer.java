package dev.vigil.app.line;

import dev.vigil.app.auth.AccountStore;
import dev.vigil.config.DeviceConfig;
import dev.vigil.core.VigilException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.eclipse.milo.opcua.sdk.core.AccessLevel;
import org.eclipse.milo.opcua.sdk.core.Reference;
import org.eclipse.milo.opcua.sdk.server.OpcUaServer;
import org.eclipse.milo.opcua.sdk.server.api.DataItem;
import org.eclipse.milo.opcua.sdk.server.api.ManagedNamespaceWithLifecycle;
import org.eclipse.milo.opcua.sdk.server.api.MonitoredItem;
import org.eclipse.milo.opcua.sdk.server.api.config.OpcUaServerConfig;
import org.eclipse.milo.opcua.sdk.server.identity.UsernameIdentityValidator;
import org.eclipse.milo.opcua.sdk.server.nodes.UaFolderNode;
import org.eclipse.milo.opcua.sdk.server.nodes.UaVariableNode;
import org.eclipse.milo.opcua.sdk.server.nodes.filters.AttributeFilters;
import org.eclipse.milo.opcua.sdk.server.util.SubscriptionModel;
import org.eclipse.milo.opcua.stack.core.AttributeId;
import org.eclipse.milo.opcua.stack.core.Identifiers;
import org.eclipse.milo.opcua.stack.core.StatusCodes;
import org.eclipse.milo.opcua.stack.core.security.DefaultCertificateManager;
import org.eclipse.milo.opcua.stack.core.security.DefaultTrustListManager;
import org.eclipse.milo.opcua.stack.core.security.SecurityPolicy;
import org.eclipse.milo.opcua.stack.core.transport.TransportProfile;
import org.eclipse.milo.opcua.stack.core.types.builtin.DataValue;
import org.eclipse.milo.opcua.stack.core.types.builtin.LocalizedText;
import org.eclipse.milo.opcua.stack.core.types.builtin.NodeId;
import org.eclipse.milo.opcua.stack.core.types.builtin.StatusCode;
import org.eclipse.milo.opcua.stack.core.types.builtin.Variant;
import org.eclipse.milo.opcua.stack.core.types.builtin.unsigned.UInteger;
import org.eclipse.milo.opcua.stack.core.types.enumerated.MessageSecurityMode;
import org.eclipse.milo.opcua.stack.core.types.enumerated.UserTokenType;
import org.eclipse.milo.opcua.stack.core.types.structured.UserTokenPolicy;
import org.eclipse.milo.opcua.stack.core.types.structured.WriteValue;
import org.eclipse.milo.opcua.stack.core.util.SelfSignedCertificateBuilder;
import org.eclipse.milo.opcua.stack.core.util.SelfSignedCertificateGenerator;
import org.eclipse.milo.opcua.stack.server.EndpointConfiguration;
import org.eclipse.milo.opcua.stack.server.security.DefaultServerCertificateValidator;

import static org.eclipse.milo.opcua.stack.core.types.builtin.unsigned.Unsigned.uint;
import static org.eclipse.milo.opcua.stack.core.types.builtin.unsigned.Unsigned.ushort;

/**
 * The OPC UA server of {@code plc.opcua} (Eclipse Milo): the signal table as nodes under {@code Objects/Vigil/<camera>}
 * (docs/plc.md). Sessions sign in with a Vigil account of the operator or admin role (the password is encrypted with
 * the server's certificate even on a {@code none} endpoint); anonymous sessions only with
 * {@code plc.opcua.anonymous: true}. The server keeps its certificate in {@code <storage.dir>/pki}; client
 * certificates for the {@code basic256sha256} endpoint are trusted by copying them into {@code pki/trusted/certs}
 * (rejected ones land in {@code pki/rejected}). Writes are taken by the namespace itself: a write to a read-only node
 * is {@code Bad_NotWritable}, a wrong type {@code Bad_TypeMismatch}, a lot id too long {@code Bad_OutOfRange}, a
 * trigger while not ready {@code Bad_InvalidState}, an unknown node {@code Bad_NodeIdUnknown}.
 */
public final class PlcOpcUaServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PlcOpcUaServer.class.getName());
    static final String NAMESPACE_URI = "urn:vigil:plc";
    static final String PATH = "/vigil";
    private static final long GOOD = 0L;
    private static final char[] STORE_PASSWORD = "vigil-opcua".toCharArray();

    private final OpcUaServer server;
    private final Namespace namespace;
    private final String endpoint;

    public PlcOpcUaServer(DeviceConfig.OpcUa config, LineStations stations, AccountStore accounts, Path pki) {
        int port = Line.port(config.host(), config.port(), "plc.opcua");
        // Milo logs a failed bind and starts anyway: find out first, and refuse with the reason
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new java.net.InetSocketAddress(java.net.InetAddress.getByName(config.host()), port));
        } catch (java.io.IOException e) {
            throw new VigilException("plc.opcua: cannot listen on " + config.host() + ":" + port + " ("
                    + e.getMessage() + "); another program holds the port: choose a free plc.opcua.port or stop it");
        }
        try {
            Files.createDirectories(pki);
            KeyStore ks = keyStore(pki.resolve("server.pfx"));
            PrivateKey key = (PrivateKey) ks.getKey("server", STORE_PASSWORD);
            X509Certificate cert = (X509Certificate) ks.getCertificate("server");
            KeyPair pair = new KeyPair(cert.getPublicKey(), key);
            DefaultCertificateManager certificates = new DefaultCertificateManager(pair, cert);
            DefaultTrustListManager trust = new DefaultTrustListManager(pki.toFile());
            String applicationUri = org.eclipse.milo.opcua.stack.core.util.CertificateUtil.getSanUri(cert)
                    .orElseThrow();
            UsernameIdentityValidator users = new UsernameIdentityValidator(config.anonymous(), c -> {
                var a = accounts.authenticate(c.getUsername(), c.getPassword().toCharArray());
                boolean ok = a.isPresent() && a.get().role() != AccountStore.Role.VIEWER;
                if (!ok) {
                    stations.refused("opcua", "sign-in", "user '" + c.getUsername() + "' refused (unknown, wrong"
                            + " password, or a viewer account: the PLC needs the operator or admin role)");
                }
                return ok;
            });
            List<UserTokenPolicy> tokens = new ArrayList<>();
            if (config.anonymous()) {
                tokens.add(OpcUaServerConfig.USER_TOKEN_POLICY_ANONYMOUS);
            }
            tokens.add(new UserTokenPolicy("username", UserTokenType.UserName, null, null,
                    SecurityPolicy.Basic256Sha256.getUri()));
            Set<EndpointConfiguration> endpoints = new LinkedHashSet<>();
            for (String s : config.security()) {
                EndpointConfiguration.Builder b = EndpointConfiguration.newBuilder().setBindAddress(config.host())
                        .setHostname(config.host().equals("0.0.0.0") ? "localhost" : config.host()).setPath(PATH)
                        .setCertificate(cert).setBindPort(port).setTransportProfile(TransportProfile.TCP_UASC_UABINARY)
                        .addTokenPolicies(tokens.toArray(UserTokenPolicy[]::new));
                endpoints.add(s.equals("none") ? b.setSecurityPolicy(SecurityPolicy.None)
                        .setSecurityMode(MessageSecurityMode.None).build()
                        : b.setSecurityPolicy(SecurityPolicy.Basic256Sha256)
                                .setSecurityMode(MessageSecurityMode.SignAndEncrypt).build());
            }
            OpcUaServerConfig sc = OpcUaServerConfig.builder().setApplicationUri(applicationUri)
                    .setApplicationName(LocalizedText.english("Vigil inspection"))
                    .setProductUri("urn:vigil:inspection").setEndpoints(endpoints)
                    .setCertificateManager(certificates).setTrustListManager(trust)
                    .setCertificateValidator(new DefaultServerCertificateValidator(trust))
                    .setIdentityValidator(users).build();
            this.server = new OpcUaServer(sc);
            this.namespace = new Namespace(server, stations);
            namespace.startup();
            server.startup().get(30, TimeUnit.SECONDS);
        } catch (VigilException e) {
            throw e;
        } catch (Exception e) {
            throw new VigilException("plc.opcua: cannot start the OPC UA server on " + config.host() + ":" + port
                    + " (" + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()) + "); choose a free"
                    + " plc.opcua.port or another plc.opcua.host");
        }
        this.endpoint = "opc.tcp://" + (config.host().equals("0.0.0.0") ? "localhost" : config.host()) + ":" + port
                + PATH;
        LOG.log(System.Logger.Level.INFO, "PLC: OPC UA on " + endpoint + " (security " + config.security()
                + ", anonymous " + (config.anonymous() ? "allowed" : "refused") + ")");
    }

    /** The endpoint URL ({@code opc.tcp://host:port/vigil}). */
    public String endpoint() {
        return endpoint;
    }


    /** The server's key and self-signed certificate, made once and kept (written whole, then moved into place). */
    private static KeyStore keyStore(Path file) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        if (Files.exists(file)) {
            try (InputStream in = Files.newInputStream(file)) {
                ks.load(in, STORE_PASSWORD);
            }
            return ks;
        }
        ks.load(null, STORE_PASSWORD);
        KeyPair pair = SelfSignedCertificateGenerator.generateRsaKeyPair(2048);
        X509Certificate cert = new SelfSignedCertificateBuilder(pair).setCommonName("Vigil OPC UA")
                .setOrganization("Vigil").setApplicationUri("urn:vigil:inspection:" + UUID.randomUUID())
                .addDnsName("localhost").addIpAddress("127.0.0.1").build();
        ks.setKeyEntry("server", pair.getPrivate(), STORE_PASSWORD, new X509Certificate[] {cert});
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        ks.store(bytes, STORE_PASSWORD);
        dev.vigil.core.AtomicFiles.write(file, bytes.toByteArray());
        return ks;
    }

    @Override
    public void close() {
        try {
            namespace.shutdown();
            server.shutdown().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "PLC: stopping the OPC UA server: " + e.getMessage());
        }
    }

    /** A node's value and, for the PLC's inputs, what a write does. */
    private record Signal(String name, NodeId type, Function<LineStation, Object> read, Writer write) {}

    @FunctionalInterface
    private interface Writer {
        /** Applies a written value; returns the status code (Good or the refusal). */
        long write(LineStation station, Object value, LineStations stations);
    }

    private static final List<Signal> SIGNALS = List.of(
            new Signal("Trigger", Identifiers.Boolean, s -> s.signals().trigger(), (st, v, all) ->
                    st.writeTrigger((Boolean) v) == LineStation.Answer.OK ? GOOD
                            : refuse(all, "busy", "camera " + st.camera() + ": a trigger while not ready",
                                    StatusCodes.Bad_InvalidState)),
            new Signal("ResultAck", Identifiers.Boolean, s -> s.signals().resultAck(), (st, v, all) -> {
                st.writeResultAck((Boolean) v);
                return GOOD;
            }),
            new Signal("ResetCounters", Identifiers.Boolean, s -> s.signals().resetCounters(), (st, v, all) -> {
                st.writeResetCounters((Boolean) v);
                return GOOD;
            }),
            new Signal("NextPartSequence", Identifiers.UInt32, s -> uint(s.signals().nextSequence()), (st, v, all) -> {
                st.writeNextSequence(((UInteger) v).longValue());
                return GOOD;
            }),
            new Signal("Lot", Identifiers.String, null, null), // read and written through the lots (below)
            new Signal("Ready", Identifiers.Boolean, s -> s.signals().ready(), null),
            new Signal("Busy", Identifiers.Boolean, s -> s.signals().busy(), null),
            new Signal("ResultReady", Identifiers.Boolean, s -> s.signals().resultReady(), null),
            new Signal("Ok", Identifiers.Boolean, s -> s.signals().ok(), null),
            new Signal("Ng", Identifiers.Boolean, s -> s.signals().ng(), null),
            new Signal("Error", Identifiers.Boolean, s -> s.signals().error(), null),
            new Signal("Heartbeat", Identifiers.Boolean, s -> s.signals().heartbeat(), null),
            new Signal("ClassIndex", Identifiers.UInt16, s -> ushort(s.signals().classIndex()), null),
            new Signal("ClassLabel", Identifiers.String, s -> s.signals().classLabel(), null),
            new Signal("Score", Identifiers.Double, s -> s.signals().score() / (double) LineStation.SCORE_SCALE, null),
            new Signal("PartSequence", Identifiers.UInt32, s -> uint(s.signals().partSequence()), null),
            new Signal("ErrorCode", Identifiers.UInt16, s -> ushort(s.signals().errorCode()), null),
            new Signal("Counters/Triggers", Identifiers.UInt32, s -> uint(s.signals().counters().triggers()), null),
            new Signal("Counters/Ok", Identifiers.UInt32, s -> uint(s.signals().counters().ok()), null),
            new Signal("Counters/Ng", Identifiers.UInt32, s -> uint(s.signals().counters().ng()), null),
            new Signal("Counters/Errors", Identifiers.UInt32, s -> uint(s.signals().counters().errors()), null),
            new Signal("Counters/DeadlineMisses", Identifiers.UInt32,
                    s -> uint(s.signals().counters().deadlineMisses()), null),
            new Signal("Counters/MinMs", Identifiers.Double, s -> (double) s.signals().counters().minMs(), null),
            new Signal("Counters/AvgMs", Identifiers.Double, s -> (double) s.signals().counters().avgMs(), null),
            new Signal("Counters/MaxMs", Identifiers.Double, s -> (double) s.signals().counters().maxMs(), null));

    private static long refuse(LineStations all, String kind, String detail, long status) {
        all.refused("opcua", kind, detail);
        return status;
    }

    /** The Vigil namespace: a folder per camera, a variable per signal; writes handled here, not by the nodes. */
    private static final class Namespace extends ManagedNamespaceWithLifecycle {
        private final SubscriptionModel subscriptions;
        private final LineStations stations;
        /** Writable nodes: the station and the signal behind each. */
        private final Map<NodeId, Object[]> inputs = new LinkedHashMap<>();

        Namespace(OpcUaServer server, LineStations stations) {
            super(server, NAMESPACE_URI);
            this.stations = stations;
            this.subscriptions = new SubscriptionModel(server, this);
            getLifecycleManager().addLifecycle(subscriptions);
            getLifecycleManager().addStartupTask(this::nodes);
        }

        private void nodes() {
            UaFolderNode root = folder("Vigil", "Vigil");
            root.addReference(new Reference(root.getNodeId(), Identifiers.Organizes,
                    Identifiers.ObjectsFolder.expanded(), false));
            for (LineStation st : stations.all()) {
                String base = "Vigil/" + st.camera();
                UaFolderNode cam = folder(base, st.camera());
                root.addOrganizes(cam);
                UaFolderNode counters = folder(base + "/Counters", "Counters");
                cam.addOrganizes(counters);
                for (Signal s : SIGNALS) {
                    boolean writable = s.write() != null || s.name().equals("Lot");
                    String leaf = s.name().contains("/") ? s.name().substring(s.name().indexOf('/') + 1) : s.name();
                    UaVariableNode n = new UaVariableNode.UaVariableNodeBuilder(getNodeContext())
                            .setNodeId(newNodeId(base + "/" + s.name())).setBrowseName(newQualifiedName(leaf))
                            .setDisplayName(LocalizedText.english(leaf)).setDataType(s.type())
                            .setTypeDefinition(Identifiers.BaseDataVariableType)
                            .setAccessLevel(writable ? AccessLevel.READ_WRITE : AccessLevel.READ_ONLY)
                            .setUserAccessLevel(writable ? AccessLevel.READ_WRITE : AccessLevel.READ_ONLY).build();
                    Function<LineStation, Object> read = s.name().equals("Lot")
                            ? x -> { String l = stations.lots().of(x.camera()); return l == null ? "" : l; }
                            : s.read();
                    n.getFilterChain().addLast(AttributeFilters.getValue(ctx -> new DataValue(new Variant(
                            read.apply(st)))));
                    getNodeManager().addNode(n);
                    (s.name().startsWith("Counters/") ? counters : cam).addOrganizes(n);
                    if (writable) {
                        inputs.put(n.getNodeId(), new Object[] {st, s});
                    }
                }
            }
        }

        private UaFolderNode folder(String id, String name) {
            UaFolderNode f = new UaFolderNode(getNodeContext(), newNodeId(id), newQualifiedName(name),
                    LocalizedText.english(name));
            getNodeManager().addNode(f);
            return f;
        }

        @Override
        public void write(org.eclipse.milo.opcua.sdk.server.api.services.AttributeServices.WriteContext context,
                List<WriteValue> values) {
            List<StatusCode> results = new ArrayList<>();
            for (WriteValue w : values) {
                results.add(new StatusCode(write(w)));
            }
            context.success(results);
        }

        private long write(WriteValue w) {
            Object[] target = inputs.get(w.getNodeId());
            if (target == null) {
                if (getNodeManager().containsNode(w.getNodeId())) {
                    return refuse(stations, "read-only", "a write to " + w.getNodeId().getIdentifier(),
                            StatusCodes.Bad_NotWritable);
                }
                return refuse(stations, "unknown-node", "a write to " + w.getNodeId(), StatusCodes.Bad_NodeIdUnknown);
            }
            if (!AttributeId.Value.isEqual(w.getAttributeId())) {
                return refuse(stations, "read-only", "a write to attribute " + w.getAttributeId() + " of "
                        + w.getNodeId().getIdentifier(), StatusCodes.Bad_NotWritable);
            }
            LineStation st = (LineStation) target[0];
            Signal s = (Signal) target[1];
            Object v = w.getValue().getValue().getValue();
            if (s.name().equals("Lot")) {
                if (!(v instanceof String lot)) {
                    return refuse(stations, "type", "Lot of " + st.camera() + " written with " + typeOf(v)
                            + "; it takes a String", StatusCodes.Bad_TypeMismatch);
                }
                String p = Lots.problem(lot);
                if (p != null) {
                    return refuse(stations, "value", "Lot of " + st.camera() + ": " + p, StatusCodes.Bad_OutOfRange);
                }
                stations.lots().set(st.camera(), lot);
                return GOOD;
            }
            boolean ok = s.type().equals(Identifiers.Boolean) ? v instanceof Boolean : v instanceof UInteger;
            if (!ok) {
                return refuse(stations, "type", s.name() + " of " + st.camera() + " written with " + typeOf(v)
                        + "; it takes a " + (s.type().equals(Identifiers.Boolean) ? "Boolean" : "UInt32"),
                        StatusCodes.Bad_TypeMismatch);
            }
            return s.write().write(st, v, stations);
        }

        private static String typeOf(Object v) {
            return v == null ? "nothing" : v.getClass().getSimpleName();
        }

        @Override
        public void onDataItemsCreated(List<DataItem> items) {
            subscriptions.onDataItemsCreated(items);
        }

        @Override
        public void onDataItemsModified(List<DataItem> items) {
            subscriptions.onDataItemsModified(items);
        }

        @Override
        public void onDataItemsDeleted(List<DataItem> items) {
            subscriptions.onDataItemsDeleted(items);
        }

        @Override
        public void onMonitoringModeChanged(List<MonitoredItem> items) {
            subscriptions.onMonitoringModeChanged(items);
        }
    }
}
