package dev.vigil.app.service;

import dev.vigil.config.DeviceConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Context;
import jakarta.annotation.PreDestroy;

/** The inspection pipeline as the service's one long-lived bean: started with the context, closed with it. */
@Context
public class VigilService implements AutoCloseable {
    private final InspectionPipeline pipeline;

    public VigilService(DeviceConfig config, MeterRegistry registry, dev.vigil.app.auth.AccountStore accounts) {
        this.pipeline = new InspectionPipeline(config, registry);
        pipeline.start();
        pipeline.startLine(accounts);
    }

    public InspectionPipeline pipeline() {
        return pipeline;
    }

    @PreDestroy
    @Override
    public void close() {
        pipeline.close();
    }
}
