package dev.vigil.app;

import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.auth.Sessions;
import dev.vigil.app.line.Lots;
import dev.vigil.app.line.PartStore;
import dev.vigil.app.registry.ModelLifecycle;
import dev.vigil.app.registry.ModelOffers;
import dev.vigil.app.registry.ModelRegistry;
import dev.vigil.app.registry.ShadowRun;
import dev.vigil.app.samples.ClassList;
import dev.vigil.app.samples.SampleStore;
import dev.vigil.app.service.ConfigChanges;
import dev.vigil.app.service.InspectionPipeline;
import dev.vigil.app.service.VigilService;
import dev.vigil.app.training.AutoTrainTrigger;
import dev.vigil.app.training.TrainingJobs;
import dev.vigil.config.ConfigStore;
import dev.vigil.config.DeviceConfig;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Requires;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The service's one composition root: every bean the HTTP layer and the background services use, made here.
 * {@link VigilService} starts the {@link InspectionPipeline} with the context and closes it with the context; the
 * pipeline owns its stages and their stores (samples, registry, MQTT link, offers), which are handed out below as
 * beans of their own, so a controller injects what it uses instead of reaching through the pipeline. Beans with a
 * lifecycle of their own say so ({@code preDestroy}).
 */
@Factory
public class ServiceBeans {
    @Singleton
    InspectionPipeline pipeline(VigilService service) {
        return service.pipeline();
    }

    /** The lot in force per camera: one instance for the PLC, MQTT and HTTP ({@link VigilService#lots()}). */
    @Singleton
    Lots lots(VigilService service) {
        return service.lots();
    }

    /**
     * The traceability store, also every {@link dev.vigil.app.line.PartLog} injection point; {@link VigilService}
     * closes it after the pipeline.
     */
    @Singleton
    PartStore parts(VigilService service) {
        return service.parts();
    }

    @Singleton
    SampleStore samples(InspectionPipeline pipeline) {
        return pipeline.samples();
    }

    @Singleton
    ModelRegistry registry(InspectionPipeline pipeline) {
        return pipeline.registry();
    }

    @Singleton
    ModelLifecycle models(InspectionPipeline pipeline) {
        return pipeline.models();
    }

    @Singleton
    ModelOffers offers(InspectionPipeline pipeline) {
        return pipeline.offers();
    }

    /** The labelling classes, kept under storage.dir; the model's labels seed them. */
    @Singleton
    ClassList classList(InspectionPipeline pipeline) {
        var m = pipeline.model();
        return new ClassList(Path.of(pipeline.config().storage().dir()).resolve("classes.json"),
                m == null ? List.of("ok", "defect") : m.labels());
    }

    /** Remote configuration changes (HTTP and MQTT): only when the service was started from a file. */
    @Context
    @Requires(beans = ConfigStore.class)
    @Bean(preDestroy = "close")
    ConfigChanges configChanges(ConfigStore store, InspectionPipeline pipeline) {
        return new ConfigChanges(store, pipeline);
    }

    @Singleton
    AccountStore accounts(DeviceConfig config) {
        return new AccountStore(Path.of(config.storage().dir()).resolve("accounts.json"));
    }

    @Singleton
    Sessions sessions(InspectionPipeline pipeline) {
        return new Sessions(() -> Duration.ofMinutes(pipeline.config().web().sessionIdleMinutes()));
    }

    /** Made at start ({@code @Context}), so folders of runs a crash interrupted are tidied then. */
    @Context
    @Bean(preDestroy = "close")
    TrainingJobs trainingJobs(InspectionPipeline p, ModelLifecycle models) {
        return new TrainingJobs(p::config, p.samples(), p.registry(), new TrainingJobs.Candidates() {
            @Override
            public ShadowRun shadow(String id, int frames) {
                return models.startShadow(id, frames);
            }

            @Override
            public void stopShadow(String why) {
                models.stopShadow(why);
            }

            @Override
            public String promote(String id) {
                return models.promote(id);
            }
        });
    }

    @Singleton
    AutoTrainTrigger autoTrainTrigger(InspectionPipeline pipeline, TrainingJobs jobs) {
        return new AutoTrainTrigger(() -> pipeline.config().training().autoAfterLabels(),
                () -> jobs.start("auto (training.autoAfterLabels)"));
    }
}
