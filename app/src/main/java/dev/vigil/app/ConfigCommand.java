package dev.vigil.app;

import dev.vigil.core.AtomicFiles;
import dev.vigil.config.ConfigException;
import dev.vigil.config.ConfigLoader;
import dev.vigil.config.ConfigReference;
import dev.vigil.config.DeviceConfig;
import dev.vigil.config.Schema;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code vigil config validate|schema|migrate|docs}: tools for {@code vigil.yml}. */
@Command(name = "config", mixinStandardHelpOptions = true, description = "Check, migrate and document the device"
        + " configuration (vigil.yml).", subcommands = {ConfigCommand.Validate.class, ConfigCommand.SchemaCmd.class,
            ConfigCommand.Migrate.class, ConfigCommand.Docs.class})
public final class ConfigCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.err);
    }

    @Command(name = "validate", mixinStandardHelpOptions = true, description = "Check a configuration file: every"
            + " problem with its key path; exit 0 when valid, 1 otherwise.")
    static final class Validate implements Callable<Integer> {
        @Parameters(paramLabel = "FILE")
        Path file;

        @Override
        public Integer call() {
            try {
                ConfigLoader.Loaded l = ConfigLoader.read(file);
                DeviceConfig c = l.config();
                System.out.printf("%s: valid (schemaVersion %d%s): device %s, %d camera(s) %s, %s%n", file,
                        l.writtenVersion(), l.migrations().isEmpty() ? "" : ", would be migrated to "
                                + DeviceConfig.SCHEMA_VERSION + ": " + String.join("; ", l.migrations()),
                        c.device().id(), c.cameras().size(), c.cameras().stream().map(DeviceConfig.Camera::id)
                                .toList(), c.model().packageDir() == null ? "collect mode (no model.package)"
                                        : "model " + c.model().packageDir());
                return 0;
            } catch (ConfigException e) {
                System.err.println(e.getMessage());
                return 1;
            }
        }
    }

    @Command(name = "schema", mixinStandardHelpOptions = true, description = "Print the JSON Schema of vigil.yml"
            + " (generated from the configuration records).")
    static final class SchemaCmd implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            System.out.println(ConfigLoader.json().writeValueAsString(Schema.jsonSchema()));
            return 0;
        }
    }

    @Command(name = "migrate", mixinStandardHelpOptions = true, description = "Rewrite a configuration file in the"
            + " current format (schemaVersion " + DeviceConfig.SCHEMA_VERSION + "), after keeping the old one as"
            + " FILE.v<N>.bak. Comments are not carried over (they are in the backup).")
    static final class Migrate implements Callable<Integer> {
        @Parameters(paramLabel = "FILE")
        Path file;

        @Override
        public Integer call() throws Exception {
            ConfigLoader.Loaded l;
            try {
                l = ConfigLoader.read(file);
            } catch (ConfigException e) {
                System.err.println(e.getMessage());
                return 1;
            }
            if (l.migrations().isEmpty()) {
                System.out.println(file + ": already schemaVersion " + DeviceConfig.SCHEMA_VERSION
                        + "; nothing to do");
                return 0;
            }
            Path backup = file.resolveSibling(file.getFileName() + ".v" + l.writtenVersion() + ".bak");
            if (Files.exists(backup)) {
                backup = file.resolveSibling(file.getFileName() + ".v" + l.writtenVersion() + "."
                        + Instant.now().toEpochMilli() + ".bak");
            }
            Files.copy(file, backup);
            AtomicFiles.write(file, ConfigLoader.toYaml(l.document()).getBytes(StandardCharsets.UTF_8));
            System.out.println(file + ": migrated from schemaVersion " + l.writtenVersion() + " to "
                    + DeviceConfig.SCHEMA_VERSION + " (" + String.join("; ", l.migrations()) + "); the old file is "
                    + backup);
            return 0;
        }
    }

    @Command(name = "docs", mixinStandardHelpOptions = true, description = "Print the configuration reference"
            + " (docs/configuration.md).")
    static final class Docs implements Callable<Integer> {
        @Override
        public Integer call() {
            System.out.print(ConfigReference.markdown());
            return 0;
        }
    }
}
