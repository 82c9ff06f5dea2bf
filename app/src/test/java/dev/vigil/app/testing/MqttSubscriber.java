package dev.vigil.app.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;

/** A plain Paho client that records what arrives, per topic, in order. */
public final class MqttSubscriber implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final MqttClient client;
    private final Map<String, List<String>> received = new java.util.concurrent.ConcurrentHashMap<>();

public MqttSubscriber(String url, String filter) throws Exception {
        client = new MqttClient(url, "test-sub-" + System.nanoTime(), new MemoryPersistence());
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setCleanStart(true);
        client.connect(o);
        client.subscribe(filter, 1);
        client.setCallback(new org.eclipse.paho.mqttv5.client.MqttCallback() {
            @Override
            public void disconnected(org.eclipse.paho.mqttv5.client.MqttDisconnectResponse r) { }

            @Override
            public void mqttErrorOccurred(org.eclipse.paho.mqttv5.common.MqttException e) { }

            @Override
            public void messageArrived(String topic, org.eclipse.paho.mqttv5.common.MqttMessage m) {
                received.computeIfAbsent(topic, t -> Collections.synchronizedList(new ArrayList<>()))
                        .add(new String(m.getPayload(), java.nio.charset.StandardCharsets.UTF_8));
            }

            @Override
            public void deliveryComplete(org.eclipse.paho.mqttv5.client.IMqttToken t) { }

            @Override
            public void connectComplete(boolean reconnect, String uri) { }

            @Override
            public void authPacketArrived(int code, org.eclipse.paho.mqttv5.common.packet.MqttProperties p) { }
        });
    }

    public List<String> raw(String topic) {
        return new ArrayList<>(received.getOrDefault(topic, List.of()));
    }

    /** Publishes a command (QoS 1, not retained) from this client. */
    public void publish(String topic, String payload) throws Exception {
        client.publish(topic, payload.getBytes(java.nio.charset.StandardCharsets.UTF_8), 1, false);
    }

    public List<JsonNode> messages(String topic) {
        List<JsonNode> out = new ArrayList<>();
        for (String s : raw(topic)) {
            try {
                out.add(JSON.readTree(s));
            } catch (Exception e) {
                throw new AssertionError("not JSON on " + topic + ": " + s);
            }
        }
        return out;
    }

    @Override
    public void close() throws Exception {
        client.disconnect();
        client.close();
    }
}
