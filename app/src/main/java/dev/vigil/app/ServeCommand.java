package dev.vigil.app;

import dev.vigil.config.ConfigLoader;
import dev.vigil.config.ConfigStore;
import dev.vigil.config.DeviceConfig;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
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
        ApplicationContext ctx;
        if (config == null) {
            ctx = start(DeviceConfig.defaults());
        } else {
            ConfigStore store = openStore(config);
            ctx = start(store.current().config(), store);
        }
        // Micronaut's own shutdown hook stops the context (and so the pipeline: MQTT offline, journal, cameras) on
        // SIGTERM; a second hook of ours closing the same context deadlocked against it, so there is none.
        while (ctx.isRunning()) {
            Thread.sleep(1000);
        }
        return 0;
    }

    /**
     * The configuration file with its snapshots under {@code <storage.dir>/config} (an older format is migrated in
     * place after a backup; the first start takes the factory snapshot).
     */
    public static ConfigStore openStore(Path file) throws java.io.IOException {
        DeviceConfig c = ConfigLoader.load(file);
        return ConfigStore.open(file, Path.of(c.storage().dir()).resolve("config"));
    }

    /** Starts the service on a configuration (also used by tests); its configuration cannot change remotely. */
    public static ApplicationContext start(DeviceConfig c) {
        return start(c, null);
    }

    /** Starts the service on the configuration in force in {@code store}, which remote changes then go through. */
    public static ApplicationContext start(DeviceConfig c, ConfigStore store) {
        LogSetup.apply(c.logging());
        dev.vigil.app.inference.LoadedModel.initEngine();
        Map<String, Object> props = new java.util.HashMap<>(Map.of("micronaut.server.port",
                c.web().port() == 0 ? -1 : c.web().port(), "micronaut.server.host", c.web().host()));
        if (c.web().tls()) {
            // HTTPS only, on web.port, from the PEM certificate chain and key
            props.put("micronaut.server.ssl.enabled", true);
            props.put("micronaut.server.ssl.port", c.web().port() == 0 ? -1 : c.web().port());
            props.put("micronaut.server.ssl.key-store.certificate-path", "file:" + c.web().tlsCertificate());
            props.put("micronaut.server.ssl.key-store.key-path", "file:" + c.web().tlsKey());
        }
        var builder = Micronaut.build(new String[0]).mainClass(Vigil.class).banner(false).properties(props);
        return (store == null ? builder.singletons(c) : builder.singletons(c, store)).start();
    }
}
