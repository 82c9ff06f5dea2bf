package dev.vigil.trainer.cli;

import dev.vigil.core.VigilException;
import java.io.PrintWriter;
import java.util.Arrays;
import picocli.CommandLine;

/**
 * Error handling shared by every {@code vigil} command: bad input prints one line that says what was wrong and
 * exits 2 (bad usage) or 1 (bad input); a stack trace only with {@code --verbose}.
 */
public final class Cli {
    private Cli() {}

    public static CommandLine configure(CommandLine cmd, String[] args) {
        boolean verbose = Arrays.asList(args).contains("--verbose");
        cmd.setParameterExceptionHandler((ex, a) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("vigil " + ex.getCommandLine().getCommandName() + ": " + ex.getMessage()
                    + " (see 'vigil " + ex.getCommandLine().getCommandName() + " --help')");
            return 2;
        });
        cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            String name = commandLine.getCommandName();
            if (verbose) {
                ex.printStackTrace(err);
            }
            if (ex instanceof VigilException) {
                err.println("vigil " + name + ": " + ex.getMessage());
            } else {
                err.println("vigil " + name + ": internal error: " + ex + " (run with --verbose for details)");
            }
            return 1;
        });
        return cmd;
    }
}
