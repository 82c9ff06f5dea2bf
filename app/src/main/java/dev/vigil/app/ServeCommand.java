package dev.vigil.app;

import dev.vigil.config.ConfigLoader;
import dev.vigil.config.DeviceConfig;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vigil serve}: the inspection service. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Run the inspection service: cameras -> classifier -> verdicts -> MQTT alerts and flagged"
                + " samples; HTTP on web.port (/health, /prometheus, /api).")
public final class ServeCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "device configuration (vigil.yml); without it: one"
            + " synthetic camera, no model (collect mode), data in ~/.local/share/vigil")
    Path config;

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        DeviceConfig c = config == null ? DeviceConfig.defaults() : ConfigLoader.load(config);
        ApplicationContext ctx = start(c);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            ctx.close();
            stopped.countDown();
        }, "vigil-shutdown"));
        stopped.await();
        return 0;
    }

    /** Starts the service on a configuration (also used by tests). */
    public static ApplicationContext start(DeviceConfig c) {
        dev.vigil.app.inference.LoadedModel.initEngine();
        return Micronaut.build(new String[0]).mainClass(Vigil.class).banner(false)
                .properties(Map.of("micronaut.server.port", c.web().port() == 0 ? -1 : c.web().port(),
                        "micronaut.server.host", c.web().host()))
                .singletons(c).start();
    }
}
