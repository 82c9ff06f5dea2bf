package dev.vigil.app;

import dev.vigil.trainer.bench.TransferBenchmark;
import dev.vigil.trainer.cli.BackbonesCommand;
import dev.vigil.trainer.cli.ClassifyCommand;
import dev.vigil.trainer.cli.Cli;
import dev.vigil.trainer.cli.EvaluateCommand;
import dev.vigil.trainer.cli.TrainCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code vigil} command line. */
@Command(name = "vigil", mixinStandardHelpOptions = true, versionProvider = Vigil.Version.class,
        description = "Industrial edge inspection: train, evaluate and run defect classifiers.",
        subcommands = {TrainCommand.class, EvaluateCommand.class, ClassifyCommand.class, BackbonesCommand.class,
            dev.vigil.trainer.cli.KeygenCommand.class, dev.vigil.trainer.cli.SignCommand.class,
            dev.vigil.trainer.cli.AdaptCommand.class,
            TransferBenchmark.class, ServeCommand.class,
            dev.vigil.app.bench.ServiceBenchmark.class, dev.vigil.app.bench.PlcBenchmark.class, SynthCommand.class,
            UserCommand.class, ConfigCommand.class})
public final class Vigil implements Runnable {
    /** {@code vigil --version}: the version the build stamped ({@link dev.vigil.core.VigilVersion}). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"vigil " + dev.vigil.core.VigilVersion.VALUE};
        }
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.err);
    }

    public static void main(String[] args) {
        LogSetup.init();
        System.exit(run(args));
    }

    public static int run(String... args) {
        return Cli.configure(new CommandLine(new Vigil()), args).execute(args);
    }
}
