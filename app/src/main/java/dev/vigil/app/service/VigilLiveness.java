package dev.vigil.app.service;

import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import io.micronaut.management.health.indicator.annotation.Liveness;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.Map;
import org.reactivestreams.Publisher;

/**
 * Liveness: the process serves (this answers) and its inspection loop runs ({@link InspectionPipeline#loopAlive}).
 * Nothing else: a camera down, a broker away or a refused model is readiness and status, never a reason for systemd to
 * restart the service. The loop counts as stuck after {@link #STUCK_AFTER} without coming round (the system property
 * {@code vigil.liveness.stuckSeconds} overrides it).
 */
@Singleton
@Liveness
public class VigilLiveness implements HealthIndicator {
    public static final Duration STUCK_AFTER = Duration.ofSeconds(60);
    private final VigilService service;

    public VigilLiveness(VigilService service) {
        this.service = service;
    }

    static Duration stuckAfter() {
        return Duration.ofSeconds(Long.getLong("vigil.liveness.stuckSeconds", STUCK_AFTER.toSeconds()));
    }

    @Override
    public Publisher<HealthResult> getResult() {
        boolean alive = service.pipeline().loopAlive(stuckAfter());
        return io.micronaut.core.async.publisher.Publishers.just(HealthResult.builder("inspection-loop",
                alive ? HealthStatus.UP : HealthStatus.DOWN).details(Map.of("running", alive)).build());
    }
}
