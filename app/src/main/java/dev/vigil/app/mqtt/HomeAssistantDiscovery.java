package dev.vigil.app.mqtt;

import dev.vigil.config.DeviceConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Home Assistant MQTT discovery for one device ({@code mqtt.homeAssistant: true}): the retained configs that make the
 * device and its entities appear in Home Assistant by themselves, built in this one place. Every entity reads
 * Vigil's own topics ({@link Topics}, unchanged): nothing is published twice for Home Assistant's sake.
 *
 * <p>Topics: {@code homeassistant/<component>/<node id>/<object id>/config}, node id {@code vigil_<device id>}
 * (characters other than letters, digits, {@code _} and {@code -} become {@code _}). Entities:
 * <pre>
 * binary_sensor  online                  &lt;prefix&gt;/available (online / offline)
 * sensor         ng_rate                 &lt;prefix&gt;/status: defect / (ok + defect) since the service started, %
 * sensor         model_id                &lt;prefix&gt;/status: the model in service (unknown in collect mode)
 * sensor         &lt;camera&gt;_state          &lt;prefix&gt;/status: connecting / up / down / finished, + reason...
 * sensor         &lt;camera&gt;_last_verdict   &lt;prefix&gt;/&lt;camera&gt;/inspection (mqtt.inspections), else /alert
 * button         &lt;camera&gt;_trigger        presses &lt;prefix&gt;/&lt;camera&gt;/trigger (triggered cameras only)
 * </pre>
 * Every entity but {@code online} is unavailable while {@code <prefix>/available} says {@code offline}; {@code online}
 * itself has no availability topic, so that it reads "off" (not "unavailable") when the device is gone. A template
 * renders {@code None} where there is no value yet (Home Assistant shows "unknown").
 *
 * <p>Immutable.
 */
public final class HomeAssistantDiscovery {
    /** Home Assistant's default discovery prefix. */
    public static final String DISCOVERY_PREFIX = "homeassistant";
    /** What the trigger buttons publish (Vigil ignores a trigger's payload). */
    public static final String PRESS = "trigger";

    /** One discovery config: its topic and its JSON (published retained, QoS 1). */
    public record Message(String topic, String json) {}

    private final String nodeId;
    private final List<Message> messages;

    /**
     * @param config the device ({@code device.id}, {@code cameras}, {@code mqtt.inspections})
     * @param topics the device's topics
     * @param version Vigil's version (the device's {@code sw_version})
     */
    public HomeAssistantDiscovery(DeviceConfig config, Topics topics, String version) {
        this.nodeId = "vigil_" + safe(config.device().id());
        Map<String, Object> device = new LinkedHashMap<>();
        device.put("identifiers", List.of(nodeId));
        device.put("name", "Vigil " + config.device().id());
        device.put("manufacturer", "Vigil");
        device.put("model", "Vigil inspection service");
        device.put("sw_version", version);
        List<Message> m = new ArrayList<>();

        Map<String, Object> online = entity("binary_sensor", "online", "Online", device, null);
        online.put("state_topic", topics.available());
        online.put("payload_on", "online");
        online.put("payload_off", "offline");
        online.put("device_class", "connectivity");
        m.add(message("binary_sensor", "online", online));

        Map<String, Object> ng = entity("sensor", "ng_rate", "NG rate", device, topics);
        ng.put("state_topic", topics.status());
        ng.put("value_template", "{% set v = value_json.verdicts %}{% set n = (v.ok | default(0))"
                + " + (v.defect | default(0)) %}{{ ((v.defect | default(0)) * 100 / n) | round(2) if n > 0"
                + " else none }}");
        ng.put("unit_of_measurement", "%");
        ng.put("state_class", "measurement");
        ng.put("suggested_display_precision", 1);
        ng.put("icon", "mdi:percent");
        m.add(message("sensor", "ng_rate", ng));

        Map<String, Object> model = entity("sensor", "model_id", "Model", device, topics);
        model.put("state_topic", topics.status());
        model.put("value_template", "{{ value_json.modelId }}");
        model.put("icon", "mdi:brain");
        m.add(message("sensor", "model_id", model));

        boolean inspections = config.mqtt().inspections();
        for (DeviceConfig.Camera camera : config.cameras()) {
            String id = camera.id();
            String object = safe(id);
            String literal = "'" + id.replace("\\", "\\\\").replace("'", "\\'") + "'";
            String mine = "{% for c in value_json.cameras if c.id == " + literal + " %}";

            Map<String, Object> state = entity("sensor", object + "_state", id + " state", device, topics);
            state.put("state_topic", topics.status());
            state.put("value_template", mine + "{{ c.state }}{% else %}None{% endfor %}");
            state.put("json_attributes_topic", topics.status());
            state.put("json_attributes_template", mine + "{{ {'reason': c.reason, 'fps': c.fps, 'frames': c.frames,"
                    + " 'dropped': c.dropped, 'corrupt': c.corrupt} | tojson }}{% else %}{}{% endfor %}");
            state.put("icon", "mdi:cctv");
            m.add(message("sensor", object + "_state", state));

            Map<String, Object> verdict = entity("sensor", object + "_last_verdict", id + (inspections
                    ? " last verdict" : " last defect"), device, topics);
            String topic = inspections ? topics.inspection(id) : topics.alert(id);
            verdict.put("state_topic", topic);
            // every verdict: ok / defect / uncertain; alerts only: the defect's label (they are all defects)
            verdict.put("value_template", inspections ? "{{ value_json.verdict }}" : "{{ value_json.label }}");
            verdict.put("json_attributes_topic", topic);
            verdict.put("icon", "mdi:magnify-scan");
            m.add(message("sensor", object + "_last_verdict", verdict));

            if (camera.triggered()) {
                Map<String, Object> button = entity("button", object + "_trigger", id + " inspect now", device,
                        topics);
                button.put("command_topic", topics.trigger(id));
                button.put("payload_press", PRESS);
                button.put("qos", 1);
                button.put("icon", "mdi:camera-iris");
                m.add(message("button", object + "_trigger", button));
            }
        }
        this.messages = List.copyOf(m);
    }

    /** {@code vigil_<device id>}, safe as a topic level and an id. */
    public String nodeId() {
        return nodeId;
    }

    /** Every discovery config of the device, in a stable order. */
    public List<Message> messages() {
        return messages;
    }

    /** The config topic of one entity. */
    public String topic(String component, String objectId) {
        return DISCOVERY_PREFIX + "/" + component + "/" + nodeId + "/" + objectId + "/config";
    }

    /** Letters, digits, {@code _} and {@code -} stay; anything else becomes {@code _}. */
    static String safe(String s) {
        return s.replaceAll("[^a-zA-Z0-9_-]", "_");
    }

    private Map<String, Object> entity(String component, String objectId, String name, Map<String, Object> device,
            Topics availability) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("name", name);
        e.put("unique_id", nodeId + "_" + objectId);
        e.put("has_entity_name", true);
        e.put("device", device);
        if (availability != null) {
            e.put("availability_topic", availability.available());
            e.put("payload_available", "online");
            e.put("payload_not_available", "offline");
        }
        return e;
    }

    private Message message(String component, String objectId, Map<String, Object> config) {
        return new Message(topic(component, objectId), Payloads.toJson(config));
    }
}
