package dev.vigil.app.service;

import dev.vigil.app.capture.CameraStatus;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import io.micronaut.management.health.indicator.annotation.Readiness;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import org.reactivestreams.Publisher;

/**
 * Readiness of the inspection: DOWN while a camera is down or the configured model could not be loaded; the broker
 * state is reported but does not make the service unready (alerts wait on disk while it is away).
 */
@Singleton
@Readiness
public class VigilHealth implements HealthIndicator {
    private final VigilService service;

    public VigilHealth(VigilService service) {
        this.service = service;
    }

    @Override
    public Publisher<HealthResult> getResult() {
        InspectionPipeline p = service.pipeline();
        Map<String, Object> details = new LinkedHashMap<>();
        boolean up = true;
        Map<String, Object> cams = new LinkedHashMap<>();
        for (Map.Entry<String, CameraStatus> e : p.cameraStatus().entrySet()) {
            CameraStatus s = e.getValue();
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("state", s.state().name().toLowerCase(java.util.Locale.ROOT));
            if (s.reason() != null) {
                c.put("reason", s.reason());
            }
            cams.put(e.getKey(), c);
            up &= !s.state().name().equals("DOWN");
        }
        details.put("cameras", cams);
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("mode", p.model() == null ? "collect" : "inspect");
        if (p.model() != null) {
            model.put("id", p.model().id());
            model.put("device", p.model().device());
        }
        if (p.modelNote() != null) {
            model.put("note", p.modelNote());
        }
        if (p.modelError() != null) {
            model.put("error", p.modelError());
            up &= p.model() != null || p.config().model().packageDir() == null;
        }
        details.put("model", model);
        Map<String, Object> broker = new LinkedHashMap<>();
        broker.put("connected", p.mqtt().connected());
        broker.put("url", dev.vigil.config.Redact.text(p.config().mqtt().url()));
        broker.put("alertQueue", p.mqtt().alertQueueDepth());
        broker.put("alertOverflow", p.mqtt().alertOverflow());
        details.put("broker", broker);
        return io.micronaut.core.async.publisher.Publishers.just(HealthResult.builder("vigil", up ? HealthStatus.UP : HealthStatus.DOWN)
                .details(details).build());
    }
}
