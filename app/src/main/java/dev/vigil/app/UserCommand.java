package dev.vigil.app;

import dev.vigil.app.auth.AccountStore;
import dev.vigil.config.ConfigLoader;
import dev.vigil.config.DeviceConfig;
import dev.vigil.core.VigilException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vigil user add|remove|list}: the accounts of the labelling page. The first admin is created here at
 * installation; there is no default account or password. The password is read from the terminal (not echoed) or,
 * with {@code --password-stdin}, from the first line of standard input (for install scripts).
 */
@Command(name = "user", mixinStandardHelpOptions = true, description = "Manage the accounts of the labelling page.",
        subcommands = {UserCommand.Add.class, UserCommand.Remove.class, UserCommand.ListUsers.class})
public final class UserCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.err);
    }

    /** Where the accounts live: storage.dir of --config, or --storage. */
    static final class Where {
        @Option(names = "--config", paramLabel = "FILE", description = "device configuration (its storage.dir)")
        Path config;

        @Option(names = "--storage", paramLabel = "DIR", description = "storage folder (instead of --config)")
        Path storage;

        AccountStore store() {
            Path dir = storage != null ? storage : Path.of((config != null ? ConfigLoader.load(config)
                    : DeviceConfig.defaults()).storage().dir());
            return new AccountStore(dir.resolve("accounts.json"));
        }
    }

    @Command(name = "add", mixinStandardHelpOptions = true, description = "Add an account or set its password.")
    static final class Add implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Where where = new Where();

        @Option(names = "--role", required = true, paramLabel = "viewer|operator|admin")
        String role;

        @Option(names = "--password-stdin", description = "read the password from the first line of standard input")
        boolean passwordStdin;

        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws Exception {
            AccountStore.Role r;
            try {
                r = AccountStore.Role.valueOf(role.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new VigilException("--role must be viewer, operator or admin, found '" + role + "'");
            }
            char[] password;
            if (passwordStdin || System.console() == null) {
                String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
                if (line == null) {
                    throw new VigilException("no password on standard input; pipe it in (printf '%s\\n' \"$PW\" |"
                            + " vigil user add ...) or run in a terminal");
                }
                password = line.toCharArray();
            } else {
                password = System.console().readPassword("password for %s: ", name);
                char[] again = System.console().readPassword("again: ");
                if (!java.util.Arrays.equals(password, again)) {
                    throw new VigilException("the two passwords differ; nothing was changed");
                }
            }
            where.store().put(name, r, password);
            java.util.Arrays.fill(password, '\0');
            System.out.println("account " + name + " (" + r.name().toLowerCase(Locale.ROOT) + ") saved");
            return 0;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, description = "Remove an account.")
    static final class Remove implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Where where = new Where();

        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws Exception {
            if (!where.store().remove(name)) {
                throw new VigilException("no account '" + name + "'; see vigil user list");
            }
            System.out.println("account " + name + " removed");
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the accounts (never passwords).")
    static final class ListUsers implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Where where = new Where();

        @Override
        public Integer call() {
            for (AccountStore.Account a : where.store().accounts()) {
                System.out.printf(Locale.ROOT, "%-32s %-8s %s%n", a.name(), a.role().name().toLowerCase(Locale.ROOT),
                        a.createdAt());
            }
            return 0;
        }
    }
}
