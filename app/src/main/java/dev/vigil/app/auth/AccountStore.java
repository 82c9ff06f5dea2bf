package dev.vigil.app.auth;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.core.VigilException;
import dev.vigil.core.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The device's accounts ({@code <storage.dir>/accounts.json}, owner-only permissions, replaced atomically): operators
 * label, admins also train, promote, roll back and change settings. There is no default account and no default
 * password: the first admin is created at installation ({@code vigil user add --role admin NAME}).
 */
public final class AccountStore {
    /** What an account may do. */
    public enum Role {
        /** May look at everything an operator sees, and change nothing. */
        VIEWER,
        OPERATOR,
        ADMIN
    }

    /** One account; {@code passwordHash} is a {@link PasswordHasher} string, never the password. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Account(String name, Role role, String passwordHash, Instant createdAt) {}

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9._-]{1,31}");
    /** Shorter passwords are refused: a tablet on a factory floor is not a bank, but "1234" is not a password. */
    public static final int MIN_PASSWORD_LENGTH = 10;
    private static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules()
            .disable(com.fasterxml.jackson.databind.SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
    private final Path file;
    private final List<Account> accounts = new ArrayList<>();
    private static final System.Logger LOG = System.getLogger(AccountStore.class.getName());
    /** {@link #stamp()} of the file the accounts were read from (or last saved to); null when there was none. */
    private String loaded;

    public AccountStore(Path file) {
        this.file = file;
        if (Files.exists(file)) {
            loaded = stamp();
            accounts.addAll(read());
        }
    }

    private List<Account> read() {
        try {
            return JSON.readValue(file.toFile(), new TypeReference<List<Account>>() {});
        } catch (IOException e) {
            throw new VigilException("accounts file " + file + " cannot be read (" + e.getMessage()
                    + "); restore it from a backup or move it aside and add the admin again");
        }
    }

    /** What identifies one version of the file: its inode (a save replaces it), modification time and size. */
    private String stamp() {
        try {
            var a = Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class);
            return a.fileKey() + "/" + a.lastModifiedTime().toMillis() + "/" + a.size();
        } catch (IOException e) {
            return "absent";
        }
    }

    /**
     * Reads the file again when another process replaced it ({@code vigil user add|remove} while the service runs),
     * so an account added, changed or removed there counts at the next login or request. A file that cannot be read
     * keeps the accounts read before (logged once per version), so a broken edit never locks everyone out.
     */
    private synchronized void refresh() {
        String now = stamp();
        if (now.equals(loaded)) {
            return;
        }
        String before = loaded;
        loaded = now;
        if (now.equals("absent")) {
            if (before != null) {
                LOG.log(System.Logger.Level.WARNING, "accounts file " + file + " is gone; keeping the "
                        + accounts.size() + " accounts read before (add an admin again with vigil user add)");
            }
            return;
        }
        try {
            List<Account> fresh = read();
            accounts.clear();
            accounts.addAll(fresh);
            LOG.log(System.Logger.Level.INFO, "accounts file " + file + " changed: " + fresh.size() + " accounts");
        } catch (VigilException e) {
            LOG.log(System.Logger.Level.WARNING, e.getMessage() + "; keeping the " + accounts.size()
                    + " accounts read before");
        }
    }

    /** The current role of {@code name}; empty when there is no such account (any more). */
    public synchronized Optional<Role> role(String name) {
        refresh();
        return find(name).map(Account::role);
    }

    private synchronized Optional<Account> find(String name) {
        return accounts.stream().filter(x -> x.name().equals(name)).findFirst();
    }

    /** Adds an account, or sets the password and role of an existing one. */
    public synchronized Account put(String name, Role role, char[] password) throws IOException {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new VigilException("account name '" + name + "' must be 2-32 characters: a lower-case letter, then"
                    + " lower-case letters, digits, '.', '_' or '-'");
        }
        if (password == null || password.length < MIN_PASSWORD_LENGTH) {
            throw new VigilException("the password of '" + name + "' must have at least " + MIN_PASSWORD_LENGTH
                    + " characters");
        }
        Account a = new Account(name, role, PasswordHasher.hash(password), Instant.now());
        refresh();
        accounts.removeIf(x -> x.name().equals(name));
        accounts.add(a);
        save();
        return a;
    }

    public synchronized boolean remove(String name) throws IOException {
        refresh();
        boolean removed = accounts.removeIf(x -> x.name().equals(name));
        if (removed) {
            save();
        }
        return removed;
    }

    /** The account when name and password match; empty otherwise (the same answer for an unknown name). */
    public Optional<Account> authenticate(String name, char[] password) {
        refresh();
        Optional<Account> a = find(name);
        // hash even for an unknown name, so timing does not tell which names exist
        String stored = a.map(Account::passwordHash).orElse(DUMMY);
        boolean ok = PasswordHasher.verify(password, stored);
        return ok ? a : Optional.empty();
    }

    private static final String DUMMY = PasswordHasher.hash("no such account".toCharArray());

    public synchronized List<Account> accounts() {
        refresh();
        return List.copyOf(accounts);
    }

    public synchronized boolean hasAdmin() {
        refresh();
        return accounts.stream().anyMatch(a -> a.role() == Role.ADMIN);
    }

    private void save() throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        AtomicFiles.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(accounts));
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: nothing more to do
        }
        loaded = stamp();
    }
}
