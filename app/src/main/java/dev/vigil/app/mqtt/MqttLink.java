package dev.vigil.app.mqtt;

import dev.vigil.config.DeviceConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Collection;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttActionListener;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttClientException;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

/**
 * The service's MQTT side (Eclipse Paho, MQTT v5): it announces the device, publishes alerts, status, model state
 * and (optionally) every verdict, and receives triggers and commands. It is built so that the inspection loop never
 * has to care whether a broker is there:
 *
 * <ul>
 *   <li>{@link #start()} connects in the background; a missing broker is logged, not thrown, and the link keeps
 *       trying (every {@value #MAX_RECONNECT_DELAY_MS} ms at most) for as long as it is open.</li>
 *   <li>Alerts are never silently lost: {@link #publishAlert} journals them on disk under the journal folder before
 *       sending (QoS 1), delivers them in order when the broker is back, also after a restart of the service, and
 *       counts what exceeds {@code mqtt.queueQuota} as overflow ({@link AlertOutbox}, {@link AlertJournal}).</li>
 *   <li>Availability: the Last Will publishes {@code offline} (retained) when the service dies;
 *       every (re)connection publishes {@code online} (retained); {@link #close()} publishes {@code offline}.</li>
 *   <li>Subscriptions (triggers, {@code model/set}, {@code config/set}, {@code model/offer}, {@code lot/set}) are
 *       made again on every connection: the session starts clean, and a restarted broker forgets them anyway. Commands sent while the device was
 *       offline are not queued for it (an hour-old "inspect now" would inspect the wrong part), and retained
 *       commands are not replayed (retain handling 2).</li>
 *   <li>Status and model state are retained, latest wins; the latest of each is published again on every
 *       connection, so a change made during an outage reaches the dashboards.</li>
 *   <li>With {@code mqtt.homeAssistant}, every connection also publishes the retained Home Assistant discovery
 *       configs ({@link HomeAssistantDiscovery}); without it nothing goes under {@code homeassistant/}.</li>
 * </ul>
 *
 * <p>Reconnection is this class's own (a scheduled task), not Paho's {@code setAutomaticReconnect}: Paho 1.2.5 does
 * not retry when the first connection fails (a device that boots before its broker would never connect), keeps its
 * reconnect delay in a static field shared by every client of the JVM, and leaves a non-daemon reconnect timer
 * thread running when a client is closed while disconnected.
 *
 * <p>Thread-safe. Listener methods run on one thread of their own, in arrival order.
 */
public final class MqttLink implements AutoCloseable {
    /** The longest pause between two connection attempts. */
    public static final long MAX_RECONNECT_DELAY_MS = 2000;
    private static final long FIRST_RECONNECT_DELAY_MS = 250;
    private static final long AFTER_LOSS_DELAY_MS = 100;
    private static final long STILL_DOWN_LOG_MS = 60_000;
    private static final System.Logger LOG = System.getLogger(MqttLink.class.getName());

    /** What the link receives from the broker. Methods run on the link's command thread, one at a time. */
    public interface Listener {
        /** {@code <prefix>/<camera>/trigger}: inspect the next frame of that camera now (the payload is ignored). */
        default void onTrigger(String camera) {}

        /** {@code <prefix>/model/set}: a model command (promote / rollback), the payload as UTF-8 text. */
        default void onModelCommand(String payload) {}

        /** {@code <prefix>/config/set}: a new configuration, the payload as UTF-8 text. */
        default void onConfigSet(String payload) {}

        /** {@code <prefix>/model/offer}: a model package offered by URL and SHA-256, the payload as UTF-8 text. */
        default void onModelOffer(String payload) {}

        /**
         * {@code <prefix>/lot/set}: the lot in force, {@code {"camera": "cam1", "lot": "L-123"}}, the payload as UTF-8
         * text ({@link dev.vigil.app.line.LotCommand} applies it). A listener that takes no lots says so in the log.
         */
        default void onLotSet(String payload) {
            LOG.log(System.Logger.Level.WARNING, "lot/set ignored: nothing in this service takes lots over MQTT");
        }
    }

    private final DeviceConfig.Mqtt settings;
    private final Topics topics;
    private final Listener listener;
    private final String serverUri;
    private final String clientId;
    private final MqttConnectionOptions options;
    private final MqttAsyncClient client;
    private final Path journalDir;
    private final AlertOutbox outbox;
    private final ScheduledExecutorService connector;
    private final ExecutorService commands;
    private final AtomicBoolean connected = new AtomicBoolean();
    private final AtomicReference<byte[]> latestStatus = new AtomicReference<>();
    /** The latest drift state of each camera, by topic (published again on every connection). */
    private final java.util.Map<String, AtomicReference<byte[]>> latestDrift =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final AtomicReference<byte[]> latestModelState = new AtomicReference<>();
    private final AtomicReference<byte[]> latestConfigState = new AtomicReference<>();
    private final AtomicReference<byte[]> latestOfferState = new AtomicReference<>();
    /** Home Assistant discovery configs by topic (none without {@code mqtt.homeAssistant}), sent on each connection. */
    private final java.util.Map<String, AtomicReference<byte[]>> discovery = new java.util.LinkedHashMap<>();
    private final Object lifecycle = new Object();
    private boolean started;
    private volatile boolean closed;
    // Written by the connector thread and Paho's callbacks, never at the same time for one attempt; a race would
    // only change a log line or one back-off step.
    private volatile long reconnectDelayMs;
    private volatile long attempts;
    private volatile long downSinceNanos;
    private volatile long lastDownLogNanos;

    /**
     * Prepares the link and opens the alert journal; nothing is sent before {@link #start()} (alerts published
     * earlier wait in memory and are journaled when it starts, or when it is closed).
     *
     * @param config the device configuration ({@code mqtt.*}, {@code device.id})
     * @param journalDir where alerts wait for the broker (created if needed; one link per folder)
     * @param listener receives triggers and commands
     * @throws IllegalArgumentException when {@code mqtt.*} is unusable (bad URL, CA file, password variable); the
     *     message names the key, the value and what to do
     * @throws IllegalStateException when another link holds the journal folder
     * @throws java.io.UncheckedIOException when the journal folder cannot be created or read
     */
    public MqttLink(DeviceConfig config, Path journalDir, Listener listener) {
        this(config, journalDir, listener, System::getenv);
    }

    /** As {@link #MqttLink(DeviceConfig, Path, Listener)}, with the environment given (tests). */
    MqttLink(DeviceConfig config, Path journalDir, Listener listener, Function<String, String> environment) {
        this.settings = config.mqtt();
        this.topics = Topics.of(config);
        this.listener = listener == null ? new Listener() {} : listener;
        this.serverUri = dev.vigil.config.MqttUrl.serverUri(settings.url()); // the validator's rules
        this.clientId = settings.clientId() != null && !settings.clientId().isBlank() ? settings.clientId()
                : "vigil-" + config.device().id();
        if (settings.queueQuota() < 1) {
            throw new IllegalArgumentException("mqtt.queueQuota: " + settings.queueQuota() + " must be at least 1");
        }
        this.options = options(environment);
        try {
            this.client = new MqttAsyncClient(serverUri, clientId, new MemoryPersistence());
        } catch (MqttException | IllegalArgumentException e) {
            throw new IllegalArgumentException("mqtt.url '" + dev.vigil.config.Redact.text(settings.url())
                    + "' / client id '" + clientId
                    + "': the MQTT client refuses them (" + e.getMessage() + "); use tcp://host:1883 or"
                    + " ssl://host:8883 and a client id of letters and digits", e);
        }
        this.client.setCallback(new Callback());
        this.journalDir = journalDir;
        this.outbox = new AlertOutbox(AlertJournal.open(journalDir), settings.queueQuota(), settings.url(),
                this::sendAlert);
        this.connector = Executors.newSingleThreadScheduledExecutor(daemon("vigil-mqtt-connect"));
        this.commands = Executors.newSingleThreadExecutor(daemon("vigil-mqtt-commands"));
        if (settings.homeAssistant()) {
            new HomeAssistantDiscovery(config, topics, dev.vigil.core.VigilVersion.VALUE).messages().forEach(m ->
                    discovery.put(m.topic(), new AtomicReference<>(m.json().getBytes(StandardCharsets.UTF_8))));
        }
    }

    /**
     * Starts connecting in the background and returns at once. Never throws because the broker is unreachable:
     * that is logged and retried until it is back.
     */
    public void start() {
        synchronized (lifecycle) {
            if (started || closed) {
                return;
            }
            started = true;
        }
        outbox.start();
        LOG.log(System.Logger.Level.INFO, "MQTT: connecting to {0} as {1}; topics under {2}/; alert journal {3}"
                + " ({4} waiting)", serverUri, clientId, topics.prefix(), journalDir, outbox.depth());
        downSinceNanos = System.nanoTime();
        connector.execute(this::attemptConnect);
    }

    /** The topics of this device. */
    public Topics topics() {
        return topics;
    }

    /**
     * Queues an alert for {@code <prefix>/<camera>/alert} (QoS 1, not retained). Returns at once: the alert is
     * journaled on disk within milliseconds, before it is sent, and delivered in order when the broker is reachable.
     *
     * @return false when it was dropped because {@code mqtt.queueQuota} alerts are already waiting (counted in
     *     {@link #alertOverflow()}, logged once per episode) or the link is closed
     */
    public boolean publishAlert(AlertPayload alert) {
        return outbox.offer(topics.alert(alert.camera()), Payloads.toBytes(alert));
    }

    /** Publishes the status (retained, QoS 1) now if connected; the latest is published again on every connection. */
    public void publishStatus(StatusPayload status) {
        retain(topics.status(), latestStatus, Payloads.toBytes(status));
    }

    /** Publishes a camera's drift state (retained, QoS 1); the latest is published again on every connection. */
    public void publishDriftState(DriftPayload state) {
        String topic = topics.drift(state.camera());
        retain(topic, latestDrift.computeIfAbsent(topic, t -> new AtomicReference<>()), Payloads.toBytes(state));
    }

    /**
     * Queues a drift alarm (raised or cleared) for {@code <prefix>/<camera>/drift/alert}, journaled and delivered
     * like verdict alerts.
     */
    public boolean publishDriftAlert(DriftPayload alert) {
        return outbox.offer(topics.driftAlert(alert.camera()), Payloads.toBytes(alert));
    }

    /** Publishes the model state (retained, QoS 1); the latest is published again on every connection. */
    public void publishModelState(ModelStatePayload state) {
        retain(topics.modelState(), latestModelState, Payloads.toBytes(state));
    }

    /** Publishes the answer to a model offer (retained, QoS 1); the latest is published again on every connection. */
    public void publishModelOfferState(ModelOfferPayload state) {
        retain(topics.modelOfferState(), latestOfferState, Payloads.toBytes(state));
    }

    /** Publishes the configuration state (retained, QoS 1); the latest is published again on every connection. */
    public void publishConfigState(ConfigStatePayload state) {
        retain(topics.configState(), latestConfigState, Payloads.toBytes(state));
    }

    /** Keeps the latest retained payload of a topic (for the next connection) and publishes it now if connected. */
    private void retain(String topic, AtomicReference<byte[]> latest, byte[] bytes) {
        latest.set(bytes);
        publishRetained(topic, latest);
    }

    /**
     * Publishes one verdict to {@code <prefix>/<camera>/inspection} (QoS 0) when {@code mqtt.inspections} is true.
     * A live feed: dropped while disconnected.
     *
     * @return whether it was handed to the client
     */
    public boolean publishInspection(InspectionPayload inspection) {
        if (!settings.inspections() || !connected.get()) {
            return false;
        }
        try {
            client.publish(topics.inspection(inspection.camera()),
                    new MqttMessage(Payloads.toBytes(inspection), 0, false, new MqttProperties()));
            return true;
        } catch (MqttException e) {
            return false;
        }
    }

    /** Whether the link is connected to the broker now. */
    public boolean connected() {
        return connected.get();
    }

    /** Alerts waiting for the broker (journaled or in flight). */
    public long alertQueueDepth() {
        return outbox.depth();
    }

    /** Alerts dropped since start because {@code mqtt.queueQuota} alerts were already waiting. */
    public long alertOverflow() {
        return outbox.overflow();
    }

    /** Alerts acknowledged by the broker since start. */
    public long alertsDelivered() {
        return outbox.delivered();
    }

    /**
     * Publishes {@code offline} (retained) and disconnects cleanly. Alerts not yet acknowledged stay in the journal
     * for the next start; waits at most about a second for those in flight.
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
        }
        connector.shutdownNow();
        outbox.close();
        if (client.isConnected()) {
            try {
                client.publish(topics.available(), message("offline", 1, true)).waitForCompletion(2000);
            } catch (MqttException e) {
                LOG.log(System.Logger.Level.DEBUG, "offline not published: {0}", e.toString());
            }
            try {
                client.disconnect(1000).waitForCompletion(3000);
            } catch (MqttException e) {
                LOG.log(System.Logger.Level.DEBUG, "MQTT disconnect: {0}", e.toString());
            }
        } else {
            forceDisconnect();
        }
        connected.set(false);
        try {
            client.close(true);
        } catch (MqttException e) {
            LOG.log(System.Logger.Level.DEBUG, "MQTT client close: {0}", e.toString());
        }
        commands.shutdown();
        try {
            commands.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.log(System.Logger.Level.INFO, "MQTT link to {0} closed: {1} alerts delivered in this run, {2} left in"
                + " {3}", serverUri, outbox.delivered(), outbox.depth(), journalDir);
    }

    /**
     * Dies as the process would in a crash: the connection is dropped without DISCONNECT (so the broker publishes
     * the Last Will), nothing more is journaled or sent. Tests only.
     */
    void crash() {
        synchronized (lifecycle) {
            closed = true;
        }
        connector.shutdownNow();
        commands.shutdownNow();
        outbox.abandon();
        forceDisconnect();
        connected.set(false);
        try {
            client.close(true);
        } catch (MqttException ignored) {
            // dying anyway
        }
    }

    // ---- connection ----

    private void attemptConnect() {
        if (closed || client.isConnected()) {
            return;
        }
        attempts++;
        try {
            client.connect(options, null, new MqttActionListener() {
                @Override
                public void onSuccess(IMqttToken token) {
                    // connectComplete does the work
                }

                @Override
                public void onFailure(IMqttToken token, Throwable failure) {
                    connectFailed(failure);
                }
            });
        } catch (MqttException e) {
            if (e.getReasonCode() == MqttClientException.REASON_CODE_CONNECT_IN_PROGRESS
                    || e.getReasonCode() == MqttClientException.REASON_CODE_CLIENT_CONNECTED) {
                return; // the attempt under way reports back
            }
            if (e.getReasonCode() == MqttClientException.REASON_CODE_CLIENT_DISCONNECTING) {
                attempts--;
                schedule(AFTER_LOSS_DELAY_MS); // the old connection is still being torn down
                return;
            }
            connectFailed(e);
        } catch (RuntimeException e) {
            connectFailed(e);
        }
    }

    private void connectFailed(Throwable failure) {
        if (closed) {
            return;
        }
        long now = System.nanoTime();
        if (attempts == 1 || reconnectDelayMs == 0) {
            LOG.log(System.Logger.Level.WARNING, "MQTT broker " + serverUri + " not reachable: " + describe(failure)
                    + "; retrying every " + MAX_RECONNECT_DELAY_MS / 1000 + " s; alerts wait in " + journalDir
                    + hint(failure));
            lastDownLogNanos = now;
        } else if (now - lastDownLogNanos >= TimeUnit.MILLISECONDS.toNanos(STILL_DOWN_LOG_MS)) {
            LOG.log(System.Logger.Level.WARNING, "MQTT broker {0} still not reachable after {1} ({2} attempts): {3};"
                    + " {4} alerts waiting", serverUri, Duration.ofNanos(now - downSinceNanos).withNanos(0),
                    attempts, describe(failure), outbox.depth());
            lastDownLogNanos = now;
        } else {
            LOG.log(System.Logger.Level.DEBUG, "MQTT connect attempt {0} failed: {1}", attempts, describe(failure));
        }
        reconnectDelayMs = reconnectDelayMs == 0 ? FIRST_RECONNECT_DELAY_MS
                : Math.min(reconnectDelayMs * 2, MAX_RECONNECT_DELAY_MS);
        schedule(reconnectDelayMs);
    }

    private void schedule(long delayMs) {
        try {
            connector.schedule(this::attemptConnect, delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closed meanwhile
        }
    }

    private final class Callback implements MqttCallback {
        @Override
        public void connectComplete(boolean reconnect, String uri) {
            if (closed) {
                return;
            }
            long outage = System.nanoTime() - downSinceNanos;
            LOG.log(System.Logger.Level.INFO, "MQTT connected to {0} as {1} (after {2} attempt(s), {3} ms);"
                    + " {4} alerts to deliver", uri, clientId, attempts, TimeUnit.NANOSECONDS.toMillis(outage),
                    outbox.depth());
            attempts = 0;
            reconnectDelayMs = 0;
            subscribe();
            try {
                client.publish(topics.available(), message("online", 1, true));
            } catch (MqttException e) {
                LOG.log(System.Logger.Level.DEBUG, "online not published: {0}", e.toString());
            }
            connected.set(true);
            publishRetained(topics.status(), latestStatus);
            publishRetained(topics.modelState(), latestModelState);
            publishRetained(topics.configState(), latestConfigState);
            publishRetained(topics.modelOfferState(), latestOfferState);
            latestDrift.forEach(MqttLink.this::publishRetained);
            discovery.forEach(MqttLink.this::publishRetained); // Home Assistant (mqtt.homeAssistant), retained
            outbox.connectionUp();
        }

        @Override
        public void disconnected(MqttDisconnectResponse response) {
            boolean was = connected.getAndSet(false);
            outbox.connectionDown();
            if (closed || !was) {
                return;
            }
            downSinceNanos = System.nanoTime();
            String reason = response.getException() != null ? describe(response.getException())
                    : "the broker disconnected (reason code " + response.getReturnCode()
                            + (response.getReasonString() == null ? "" : ", " + response.getReasonString()) + ")";
            LOG.log(System.Logger.Level.WARNING, "MQTT connection to {0} lost: {1}; reconnecting (every {2} s at"
                    + " most); {3} alerts waiting in {4}", serverUri, reason, MAX_RECONNECT_DELAY_MS / 1000,
                    outbox.depth(), journalDir);
            schedule(AFTER_LOSS_DELAY_MS);
        }

        @Override
        public void mqttErrorOccurred(MqttException exception) {
            LOG.log(System.Logger.Level.WARNING, "MQTT error from {0}: {1}", serverUri, describe(exception));
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            String payload = new String(message.getPayload(), StandardCharsets.UTF_8);
            try {
                commands.execute(() -> dispatch(topic, payload));
            } catch (RejectedExecutionException e) {
                // closing
            }
        }

        @Override
        public void deliveryComplete(IMqttToken token) {
            // results arrive through the action listeners
        }

        @Override
        public void authPacketArrived(int reasonCode, MqttProperties properties) {
            // no enhanced authentication
        }
    }

    private void subscribe() {
        // deny by default: the state-changing commands only with mqtt.acceptCommands (triggers always)
        MqttSubscription[] subscriptions = settings.acceptCommands()
                ? new MqttSubscription[] {new MqttSubscription(topics.triggerWildcard(), 1),
                    new MqttSubscription(topics.modelSet(), 1), new MqttSubscription(topics.configSet(), 1),
                    new MqttSubscription(topics.modelOffer(), 1), new MqttSubscription(topics.lotSet(), 1)}
                : new MqttSubscription[] {new MqttSubscription(topics.triggerWildcard(), 1)};
        for (MqttSubscription s : subscriptions) {
            s.setRetainHandling(2); // never replay a retained command
        }
        try {
            client.subscribe(subscriptions, null, new MqttActionListener() {
                @Override
                public void onSuccess(IMqttToken token) {
                    int[] codes = token.getReasonCodes();
                    for (int i = 0; codes != null && i < codes.length && i < subscriptions.length; i++) {
                        if (codes[i] >= 0x80) {
                            LOG.log(System.Logger.Level.ERROR, "broker " + serverUri + " refused the subscription"
                                    + " to " + subscriptions[i].getTopic() + " (reason code 0x"
                                    + Integer.toHexString(codes[i]) + "); allow "
                                    + (settings.username() == null ? "anonymous clients" : "user '"
                                            + settings.username() + "'") + " to subscribe under " + topics.prefix()
                                    + "/ in the broker's ACL");
                        }
                    }
                }

                @Override
                public void onFailure(IMqttToken token, Throwable failure) {
                    LOG.log(System.Logger.Level.WARNING, "MQTT subscribe to commands failed: {0}; they are tried"
                            + " again on the next connection", describe(failure));
                }
            }, new MqttProperties());
        } catch (MqttException e) {
            LOG.log(System.Logger.Level.WARNING, "MQTT subscribe to commands failed: {0}; tried again on the next"
                    + " connection", describe(e));
        }
    }

    private void dispatch(String topic, String payload) {
        try {
            boolean command = topic.equals(topics.modelSet()) || topic.equals(topics.configSet())
                    || topic.equals(topics.modelOffer()) || topic.equals(topics.lotSet());
            if (command && !settings.acceptCommands()) {
                LOG.log(System.Logger.Level.WARNING, "MQTT command on {0} ignored: mqtt.acceptCommands is off", topic);
                return;
            }
            if (topic.equals(topics.modelSet())) {
                listener.onModelCommand(payload);
            } else if (topic.equals(topics.configSet())) {
                listener.onConfigSet(payload);
            } else if (topic.equals(topics.modelOffer())) {
                listener.onModelOffer(payload);
            } else if (topic.equals(topics.lotSet())) {
                listener.onLotSet(payload);
            } else {
                Optional<String> camera = topics.cameraOfTrigger(topic);
                if (camera.isPresent()) {
                    listener.onTrigger(camera.get());
                } else {
                    LOG.log(System.Logger.Level.DEBUG, "MQTT message on {0} ignored", topic);
                }
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "handling the MQTT command on " + topic + " failed: " + e, e);
        }
    }

    private void sendAlert(String topic, byte[] payload, long seq, long generation) throws MqttException {
        if (!connected.get()) {
            throw new MqttException(MqttClientException.REASON_CODE_CLIENT_NOT_CONNECTED);
        }
        client.publish(topic, message(payload, 1, false), null, new MqttActionListener() {
            @Override
            public void onSuccess(IMqttToken token) {
                int[] codes = token.getReasonCodes();
                if (codes != null && codes.length > 0 && codes[0] >= 0x80) {
                    outbox.failed(seq, generation, new AlertOutbox.Refused("PUBACK reason code 0x"
                            + Integer.toHexString(codes[0])));
                } else {
                    outbox.delivered(seq, generation);
                }
            }

            @Override
            public void onFailure(IMqttToken token, Throwable failure) {
                if (failure instanceof MqttException e && e.getReasonCode() >= 0x80 && e.getReasonCode() < 0x100) {
                    outbox.failed(seq, generation, new AlertOutbox.Refused("reason code 0x"
                            + Integer.toHexString(e.getReasonCode()) + " " + e.getMessage()));
                } else {
                    outbox.failed(seq, generation, failure);
                }
            }
        });
    }

    private void publishRetained(String topic, AtomicReference<byte[]> latest) {
        byte[] bytes = latest.get();
        if (bytes == null || !connected.get() || closed) {
            return; // published on the next connection
        }
        try {
            client.publish(topic, message(bytes, 1, true));
        } catch (MqttException e) {
            if (e.getReasonCode() == MqttClientException.REASON_CODE_MAX_INFLIGHT) {
                // Too many messages in flight: try the latest value again shortly.
                try {
                    connector.schedule(() -> publishRetained(topic, latest), 200, TimeUnit.MILLISECONDS);
                } catch (RejectedExecutionException closing) {
                    // closed meanwhile
                }
            } else {
                LOG.log(System.Logger.Level.DEBUG, "{0} not published now ({1}); sent on the next connection",
                        topic, e.toString());
            }
        }
    }

    private void forceDisconnect() {
        try {
            client.disconnectForcibly(0, 100, false);
        } catch (MqttException | RuntimeException e) {
            // not connected: nothing to drop
        }
    }

    // ---- configuration ----

    private MqttConnectionOptions options(Function<String, String> environment) {
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setCleanStart(true);
        o.setAutomaticReconnect(false); // our own loop: see the class comment
        o.setKeepAliveInterval(30);
        o.setConnectionTimeout(10);
        o.setWill(topics.available(), message("offline", 1, true));
        boolean tls = serverUri.startsWith("ssl://");
        if (settings.username() != null && !settings.username().isBlank()) {
            o.setUserName(settings.username());
        }
        if (settings.passwordFile() != null && !settings.passwordFile().isBlank()) {
            String password;
            try {
                password = java.nio.file.Files.readAllLines(Path.of(settings.passwordFile()), StandardCharsets.UTF_8)
                        .stream().findFirst().orElse("");
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("mqtt.passwordFile: " + settings.passwordFile() + " cannot be read ("
                        + e.getMessage() + "); check the path and that the vigil user may read it");
            }
            if (password.isEmpty()) {
                throw new IllegalArgumentException("mqtt.passwordFile: the first line of " + settings.passwordFile()
                        + " is empty; put the broker password there");
            }
            o.setPassword(password.getBytes(StandardCharsets.UTF_8));
        } else if (settings.passwordEnv() != null && !settings.passwordEnv().isBlank()) {
            String name = settings.passwordEnv();
            String password = environment.apply(name);
            if (password == null || password.isEmpty()) {
                throw new IllegalArgumentException("mqtt.passwordEnv: the environment variable " + name
                        + " is not set (or empty); set it for the vigil service (e.g. Environment=" + name
                        + "=... in a systemd drop-in, or an EnvironmentFile), or remove mqtt.passwordEnv");
            }
            o.setPassword(password.getBytes(StandardCharsets.UTF_8));
            if (!tls) {
                LOG.log(System.Logger.Level.WARNING, "mqtt.url {0} is not TLS: the broker password is sent in clear"
                        + " text; use ssl://host:8883 with mqtt.caFile", dev.vigil.config.Redact.text(settings.url()));
            }
        }
        // (a CA file without TLS is the validator's to refuse: ConfigValidator, one rule set)
        if (tls && settings.caFile() != null && !settings.caFile().isBlank()) {
            o.setSocketFactory(socketFactory(Path.of(settings.caFile())));
        }
        return o;
    }

    /** A TLS socket factory that trusts exactly the CA certificate(s) in a PEM file. */
    static SSLSocketFactory socketFactory(Path caFile) {
        String key = "mqtt.caFile " + caFile + ": ";
        if (!Files.isRegularFile(caFile) || !Files.isReadable(caFile)) {
            throw new IllegalArgumentException(key + "no such readable file; put the PEM certificate of the CA that"
                    + " signed the broker's certificate there, or fix the path");
        }
        Collection<? extends Certificate> certificates;
        try (InputStream in = Files.newInputStream(caFile)) {
            certificates = CertificateFactory.getInstance("X.509").generateCertificates(in);
        } catch (CertificateException e) {
            throw new IllegalArgumentException(key + "not a PEM certificate (" + e.getMessage() + "); it must hold"
                    + " one or more -----BEGIN CERTIFICATE----- blocks", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(key + "cannot be read (" + e + ")", e);
        }
        if (certificates.isEmpty()) {
            throw new IllegalArgumentException(key + "holds no certificate; it must hold one or more"
                    + " -----BEGIN CERTIFICATE----- blocks");
        }
        try {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            int i = 0;
            for (Certificate c : certificates) {
                trust.setCertificateEntry("ca-" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context.getSocketFactory();
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(key + "cannot build a TLS context from it: " + e, e);
        }
    }

    // ---- helpers ----

    private static MqttMessage message(String text, int qos, boolean retained) {
        return message(text.getBytes(StandardCharsets.UTF_8), qos, retained);
    }

    private static MqttMessage message(byte[] payload, int qos, boolean retained) {
        return new MqttMessage(payload, qos, retained, new MqttProperties());
    }

    private static String describe(Throwable t) {
        if (t instanceof MqttException e) {
            Throwable cause = e.getCause();
            if (e.getReasonCode() == 0 && cause != null) {
                return cause.toString(); // Paho's "Untranslated MqttException": the cause says it all
            }
            return e.getMessage() + " (" + e.getReasonCode() + ")" + (cause == null ? "" : ": " + cause);
        }
        return String.valueOf(t);
    }

    private String hint(Throwable failure) {
        if (failure instanceof MqttException e) {
            int code = e.getReasonCode();
            if (code == 0x86 || code == 0x87 || code == 4 || code == 5) {
                return ". The broker refused the credentials: check mqtt.username"
                        + (settings.passwordEnv() == null ? " and set mqtt.passwordEnv"
                                : " and the password in $" + settings.passwordEnv());
            }
            if (e.getCause() instanceof javax.net.ssl.SSLException) {
                return ". TLS failed: mqtt.caFile must hold the CA that signed the broker's certificate, and the"
                        + " certificate must name the host of mqtt.url";
            }
        }
        return ". Check that the broker runs and mqtt.url is right";
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
