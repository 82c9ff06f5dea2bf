package dev.vigil.app.mqtt;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttActionListener;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

/**
 * A plain Paho client that plays the dashboard in the tests: it subscribes, records what arrives, and publishes
 * commands. With {@code persistentSession} its subscriptions and the QoS 1 messages queued for it survive its own
 * disconnection (and a restart of a persistent broker); it reconnects by itself and subscribes again on every
 * connection.
 */
final class Observer implements AutoCloseable {
    /** One received message. */
    record Received(String topic, String payload, boolean retained) {}

    private final MqttAsyncClient client;
    private final List<Received> received = new ArrayList<>();
    private final String[] filters;
    private boolean closed;
    private final java.util.concurrent.atomic.AtomicInteger subscribed = new java.util.concurrent.atomic.AtomicInteger();

    private Observer(String url, String clientId, boolean persistentSession, String... filters) throws MqttException {
        this.filters = filters;
        this.client = new MqttAsyncClient(url, clientId, new MemoryPersistence());
        client.setCallback(new MqttCallback() {
            @Override
            public void disconnected(MqttDisconnectResponse response) {}

            @Override
            public void mqttErrorOccurred(MqttException exception) {}

            @Override
            public void messageArrived(String topic, MqttMessage message) {
                synchronized (received) {
                    received.add(new Received(topic, new String(message.getPayload(), StandardCharsets.UTF_8),
                            message.isRetained()));
                }
            }

            @Override
            public void deliveryComplete(IMqttToken token) {}

            @Override
            public void connectComplete(boolean reconnect, String serverURI) {
                if (reconnect) {
                    subscribeAsync(); // a broker without persistence forgot us
                }
            }

            @Override
            public void authPacketArrived(int reasonCode, MqttProperties properties) {}
        });
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setCleanStart(!persistentSession);
        if (persistentSession) {
            o.setSessionExpiryInterval(3600L);
        }
        o.setAutomaticReconnect(true);
        o.setMaxReconnectDelay(500);
        client.connect(o).waitForCompletion(5000);
        if (filters.length > 0) {
            subscribeAsync();
            awaitSubscribed(1);
        }
    }

    /** Connects and subscribes (QoS 1) to the filters; returns once the broker has confirmed the subscription. */
    static Observer connect(String url, String clientId, boolean persistentSession, String... filters)
            throws MqttException {
        return new Observer(url, clientId, persistentSession, filters);
    }

    private void subscribeAsync() {
        if (filters.length == 0) {
            return;
        }
        MqttSubscription[] subs = new MqttSubscription[filters.length];
        for (int i = 0; i < filters.length; i++) {
            subs[i] = new MqttSubscription(filters[i], 1);
        }
        try {
            client.subscribe(subs, null, new MqttActionListener() {
                @Override
                public void onSuccess(IMqttToken token) {
                    subscribed.incrementAndGet();
                }

                @Override
                public void onFailure(IMqttToken token, Throwable exception) {}
            }, new MqttProperties());
        } catch (MqttException e) {
            throw new IllegalStateException("observer could not subscribe: " + e, e);
        }
    }

    /** Waits until the broker has confirmed the subscription {@code times} times (1 + reconnections). */
    void awaitSubscribed(int times) {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (subscribed.get() < times) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("observer not subscribed " + times + " times (" + subscribed.get() + ")");
            }
            sleep(10);
        }
    }

    void publish(String topic, String payload, boolean retained) throws MqttException {
        client.publish(topic, new MqttMessage(payload.getBytes(StandardCharsets.UTF_8), 1, retained,
                new MqttProperties())).waitForCompletion(5000);
    }

    boolean connected() {
        return client.isConnected();
    }

    List<Received> received() {
        synchronized (received) {
            return List.copyOf(received);
        }
    }

    List<Received> received(Predicate<Received> which) {
        return received().stream().filter(which).toList();
    }

    /** Waits until {@code count} messages matching {@code which} have arrived; returns them. */
    List<Received> await(Predicate<Received> which, int count, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<Received> got = received(which);
            if (got.size() >= count) {
                return got;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what
                        + ": got " + got.size() + " of " + count + ": " + got);
            }
            sleep(10);
        }
    }

    static Predicate<Received> on(String topic) {
        return r -> r.topic().equals(topic);
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (client.isConnected()) {
                client.disconnect().waitForCompletion(2000);
            } else {
                client.disconnectForcibly(0, 100, false);
            }
        } catch (MqttException | RuntimeException ignored) {
            // test teardown
        }
        try {
            client.close(true);
        } catch (MqttException | RuntimeException ignored) {
            // test teardown
        }
    }
}
