package dev.vigil.app.service;

import dev.vigil.app.line.Lots;
import dev.vigil.app.line.PartStore;
import dev.vigil.config.DeviceConfig;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Context;
import jakarta.annotation.PreDestroy;
import java.nio.file.Path;

/**
 * The inspection pipeline as the service's one long-lived bean: started with the context, closed with it. It also
 * owns what outlives a pipeline's parts and is shared with the web and the line: the traceability store
 * ({@link #parts()}, {@code storage.dir/parts}), made before the pipeline and closed after it, so the pipeline's last
 * parts are written.
 */
@Context
public class VigilService implements AutoCloseable {
    private final PartStore parts;
    private final InspectionPipeline pipeline;

    public VigilService(DeviceConfig config, MeterRegistry registry, dev.vigil.app.auth.AccountStore accounts) {
        this.parts = new PartStore(Path.of(config.storage().dir()).resolve("parts"), () -> retentionDays(config));
        try {
            this.pipeline = new InspectionPipeline(config, registry);
            pipeline.line().partLog(parts);
            // part numbers go on from the newest recorded part of each camera, not from 1 again
            for (DeviceConfig.Camera c : config.cameras()) {
                parts.query(new PartStore.Query(java.time.Instant.EPOCH, java.time.Instant.now().plusSeconds(86_400),
                        null, c.id(), 1, true)).forEach(r -> pipeline.line().parts().continueAfter(c.id(),
                                r.sequence()));
            }
        } catch (RuntimeException e) {
            parts.close();
            throw e;
        }
        FunctionCounter.builder("vigil.parts.recorded", parts, PartStore::written)
                .description("part records written to the traceability store").register(registry);
        FunctionCounter.builder("vigil.parts.dropped", parts, PartStore::dropped)
                .description("part records lost (queue full, disk refused the write)").register(registry);
        pipeline.start();
        try {
            pipeline.startLine(accounts);
        } catch (RuntimeException e) { // a PLC port in use: stop cleanly with the reason, nothing left running
            pipeline.close();
            parts.close();
            throw e;
        }
    }

    /** parts.retentionDays in force: the pipeline's configuration follows every change. */
    private int retentionDays(DeviceConfig initial) {
        InspectionPipeline p = pipeline;
        return (p == null ? initial : p.config()).parts().retentionDays();
    }

    public InspectionPipeline pipeline() {
        return pipeline;
    }

    /** The lot or order id in force per camera (one instance for the PLC, MQTT and HTTP). */
    public Lots lots() {
        return pipeline.line().lots();
    }

    /** The traceability store: where every reported part is recorded ({@link dev.vigil.app.line.PartLog}). */
    public PartStore parts() {
        return parts;
    }

    @PreDestroy
    @Override
    public void close() {
        try {
            pipeline.close();
        } finally {
            parts.close();
        }
    }
}
