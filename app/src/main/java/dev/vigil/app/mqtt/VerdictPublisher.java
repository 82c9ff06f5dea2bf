package dev.vigil.app.mqtt;

import dev.vigil.app.decision.Decision;
import dev.vigil.app.decision.Verdict;
import dev.vigil.config.DeviceConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The publish stage: a defect verdict becomes an alert (journalled, QoS 1, never silently lost: {@link MqttLink}),
 * and with {@code mqtt.inspections} every verdict is also published as an inspection record.
 */
public final class VerdictPublisher {
    private final Supplier<MqttLink> mqtt;
    private final Supplier<DeviceConfig> config;

    /** @param mqtt the link in force; @param config the configuration in force (both may change at run time) */
    public VerdictPublisher(Supplier<MqttLink> mqtt, Supplier<DeviceConfig> config) {
        this.mqtt = mqtt;
        this.config = config;
    }

    /**
     * Publishes what {@code camera}'s frame captured at {@code capturedAt} was judged: {@code sampleId} names its
     * stored sample (null when not flagged), {@code where} the defect's region (null without a map),
     * {@code attributes} a multi-task model's other heads (null for a single classifier).
     */
    public void publish(String camera, Instant capturedAt, String modelId, Decision d, String sampleId,
            Region where, java.util.Map<String, Attribute> attributes) {
        DeviceConfig c = config.get();
        MqttLink link = mqtt.get();
        if (d.verdict() == Verdict.DEFECT) {
            link.publishAlert(AlertPayload.of(UUID.randomUUID().toString(), capturedAt, c.device().id(), camera,
                    d.label(), d.confidence(), d.verdict().id(), modelId, sampleId, where, attributes));
        }
        if (c.mqtt().inspections()) {
            link.publishInspection(InspectionPayload.of(UUID.randomUUID().toString(), capturedAt, c.device().id(),
                    camera, d.label(), d.confidence(), d.defectScore(), d.verdict().id(), modelId,
                    Duration.between(capturedAt, Instant.now()).toNanos() / 1e6, where, attributes));
        }
    }
}
