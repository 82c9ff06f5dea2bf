package dev.vigil.app.mqtt;

import dev.vigil.config.DeviceConfig;
import java.util.Objects;
import java.util.Optional;

/**
 * Every MQTT topic of one device, built in this one place so that publishers, subscribers, tests and documentation
 * cannot drift apart (DESIGN.md, "MQTT" contract table).
 *
 * <p>The prefix is {@code mqtt.prefix} when set, else {@code vigil/<device.id>}. Topics below it:
 * <pre>
 * &lt;prefix&gt;/available              online / offline (retained; offline is the Last Will)
 * &lt;prefix&gt;/status                 StatusPayload (retained)
 * &lt;prefix&gt;/&lt;camera&gt;/alert         AlertPayload (QoS 1, journaled)
 * &lt;prefix&gt;/&lt;camera&gt;/inspection    InspectionPayload (QoS 0, optional)
 * &lt;prefix&gt;/&lt;camera&gt;/trigger       command: inspect now
 * &lt;prefix&gt;/&lt;camera&gt;/drift         DriftPayload (retained)
 * &lt;prefix&gt;/&lt;camera&gt;/drift/alert   DriftPayload with its event (QoS 1, journaled)
 * &lt;prefix&gt;/model/state            ModelStatePayload (retained)
 * &lt;prefix&gt;/model/set              command: promote / rollback
 * &lt;prefix&gt;/config/set             command: new configuration
 * &lt;prefix&gt;/config/state           the configuration in force (retained)
 * &lt;prefix&gt;/lot/set                command: the lot or order id of one camera or every camera
 * </pre>
 * Immutable and thread-safe.
 */
public final class Topics {
    private final String prefix;

    /**
     * @param prefix the topic prefix, e.g. {@code vigil/line1}; a trailing {@code /} is ignored
     * @throws IllegalArgumentException when the prefix is empty or holds a wildcard ({@code +}, {@code #}) or a
     *     control character
     */
    public Topics(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        String p = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
        if (p.isEmpty() || p.startsWith("/") || p.contains("+") || p.contains("#") || hasControl(p)) {
            throw new IllegalArgumentException("mqtt.prefix: '" + prefix + "' is not a usable topic prefix; use"
                    + " levels separated by '/', without '+', '#', control characters or a leading '/'"
                    + " (default: vigil/<device.id>)");
        }
        this.prefix = p;
    }

    /** The topics of a configured device: {@code mqtt.prefix}, or {@code vigil/<device.id>} when it is not set. */
    public static Topics of(DeviceConfig config) {
        String configured = config.mqtt().prefix();
        if (configured != null && !configured.isBlank()) {
            return new Topics(configured);
        }
        String device = config.device().id();
        if (device.isEmpty() || device.contains("/") || device.contains("+") || device.contains("#")
                || hasControl(device)) {
            throw new IllegalArgumentException("device.id: '" + device + "' cannot be a topic level; use letters,"
                    + " digits, '-' and '_' (or set mqtt.prefix)");
        }
        return new Topics("vigil/" + device);
    }

    /** The prefix, without a trailing {@code /}. */
    public String prefix() {
        return prefix;
    }

    /** {@code <prefix>/available}: {@code online} / {@code offline}, retained, QoS 1; the Last Will. */
    public String available() {
        return prefix + "/available";
    }

    /** {@code <prefix>/status}: the retained status. */
    public String status() {
        return prefix + "/status";
    }

    /** {@code <prefix>/<camera>/alert}. */
    public String alert(String camera) {
        return prefix + "/" + level(camera) + "/alert";
    }

    /** {@code <prefix>/<camera>/inspection}. */
    public String inspection(String camera) {
        return prefix + "/" + level(camera) + "/inspection";
    }

    /** {@code <prefix>/<camera>/drift}: the camera's drift state, retained. */
    public String drift(String camera) {
        return prefix + "/" + level(camera) + "/drift";
    }

    /** {@code <prefix>/<camera>/drift/alert}: the drift alarm raised or cleared (QoS 1, journaled). */
    public String driftAlert(String camera) {
        return prefix + "/" + level(camera) + "/drift/alert";
    }

    /** {@code <prefix>/<camera>/trigger}: command, inspect now. */
    public String trigger(String camera) {
        return prefix + "/" + level(camera) + "/trigger";
    }

    /** {@code <prefix>/+/trigger}: the subscription that receives the triggers of every camera. */
    public String triggerWildcard() {
        return prefix + "/+/trigger";
    }

    /** {@code <prefix>/model/state}: retained active/candidate/previous model ids. */
    public String modelState() {
        return prefix + "/model/state";
    }

    /** {@code <prefix>/model/set}: command, promote / rollback. */
    public String modelSet() {
        return prefix + "/model/set";
    }

    /** {@code <prefix>/model/offer}: command, a model package to download (URL + SHA-256) as a candidate. */
    public String modelOffer() {
        return prefix + "/model/offer";
    }

    /** {@code <prefix>/model/offer/state}: the answer to the latest offer (retained). */
    public String modelOfferState() {
        return prefix + "/model/offer/state";
    }

    /** {@code <prefix>/config/set}: command, a new configuration. */
    public String configSet() {
        return prefix + "/config/set";
    }

    /** {@code <prefix>/config/state}: the configuration in force (retained). */
    public String configState() {
        return prefix + "/config/state";
    }

    /** {@code <prefix>/lot/set}: command, the lot in force ({@code {"camera": "cam1", "lot": "L-123"}}). */
    public String lotSet() {
        return prefix + "/lot/set";
    }

    /**
     * The camera id of a trigger topic ({@code <prefix>/<camera>/trigger}), or empty when the topic is not one
     * (another device's prefix, another suffix, more or fewer levels).
     */
    public Optional<String> cameraOfTrigger(String topic) {
        if (topic == null || !topic.startsWith(prefix + "/") || !topic.endsWith("/trigger")) {
            return Optional.empty();
        }
        int start = prefix.length() + 1;
        int end = topic.length() - "/trigger".length();
        if (end <= start) {
            return Optional.empty();
        }
        String camera = topic.substring(start, end);
        return camera.contains("/") ? Optional.empty() : Optional.of(camera);
    }

    @Override
    public String toString() {
        return "Topics[" + prefix + "]";
    }

    private static String level(String camera) {
        if (camera == null || camera.isEmpty() || camera.contains("/") || camera.contains("+")
                || camera.contains("#") || hasControl(camera)) {
            throw new IllegalArgumentException("camera id '" + camera + "' cannot be a topic level; camera ids"
                    + " use letters, digits, '-' and '_' (cameras[].id)");
        }
        return camera;
    }

    private static boolean hasControl(String s) {
        return s.chars().anyMatch(c -> c < 0x20 || c == 0x7f);
    }
}
