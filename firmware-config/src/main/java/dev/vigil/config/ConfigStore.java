package dev.vigil.config;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The device's configuration over its life: the live file ({@code vigil.yml}), and a snapshot of every configuration
 * ever applied ({@code <dir>/NNNNNN.yml} with {@code index.json}: id, time, origin, SHA-256). The first snapshot is the
 * factory one ({@code factory.yml} beside the live file when the device ships one, else the configuration of the
 * first start). Changes — a full document or a partial one merged in — go through {@link ConfigLoader#bind}, so an
 * invalid change is refused with all its problems and changes nothing; a valid one is written atomically and becomes
 * a new snapshot, whose id is the configuration's version. Rolling back applies an old snapshot as a new change.
 */
public final class ConfigStore {
    private static final System.Logger LOG = System.getLogger(ConfigStore.class.getName());

    /** One applied configuration; {@code time} is ISO-8601 UTC. */
    public record Snapshot(int id, String time, String origin, String sha256) {}

    /** The configuration in force: its version (snapshot id), the document as written, and the bound records. */
    public record Current(int version, ObjectNode document, DeviceConfig config) {}

    /** Full replaces the whole document; merge patches it (RFC 7386; cameras merge by id). */
    public enum Mode {
        MERGE,
        REPLACE
    }

    private final Path file;
    private final Path dir;
    private final List<Snapshot> index = new ArrayList<>();
    private Current current;

    private ConfigStore(Path file, Path dir) {
        this.file = file.toAbsolutePath();
        this.dir = dir.toAbsolutePath();
    }

    /**
     * Opens the live file (migrating an older format in place, after a backup {@code <file>.v<N>.bak}) and the
     * snapshots in {@code dir}; takes the factory snapshot on first use, and a snapshot of the file when it was edited
     * outside Vigil since the last one.
     */
    public static ConfigStore open(Path file, Path dir) throws IOException {
        ConfigStore s = new ConfigStore(file, dir);
        s.init();
        return s;
    }

    private void init() throws IOException {
        Files.createDirectories(dir);
        removeStaleTemporaries(file.getParent(), "." + file.getFileName() + ".");
        removeStaleTemporaries(dir, ".");
        ConfigLoader.Loaded l = ConfigLoader.read(file);
        if (!l.migrations().isEmpty()) {
            Path backup = backupPath(l.writtenVersion());
            Files.copy(file, backup);
            dev.vigil.core.AtomicFiles.write(file, ConfigLoader.toYaml(l.document()).getBytes(StandardCharsets.UTF_8));
            LOG.log(System.Logger.Level.INFO, "configuration {0} migrated from schemaVersion {1} to {2} ({3});"
                    + " the old file is kept as {4}", file, l.writtenVersion(), DeviceConfig.SCHEMA_VERSION,
                    String.join("; ", l.migrations()), backup);
        }
        Path indexFile = dir.resolve("index.json");
        if (Files.exists(indexFile)) {
            index.addAll(ConfigLoader.json().readValue(indexFile.toFile(), new TypeReference<List<Snapshot>>() {}));
        }
        if (index.isEmpty()) {
            Path factory = file.resolveSibling("factory.yml");
            if (Files.isRegularFile(factory)) {
                ConfigLoader.Loaded f = ConfigLoader.read(factory);
                snapshot(f.document(), "factory (" + factory + ")");
            } else {
                snapshot(l.document(), "factory (the configuration of the first start)");
            }
        }
        Snapshot last = index.get(index.size() - 1);
        String sha = sha256(canonical(l.document()));
        if (!sha.equals(last.sha256())) {
            last = snapshot(l.document(), "file " + file + " (changed outside Vigil)");
        }
        current = new Current(last.id(), l.document(), l.config());
    }

    private Path backupPath(int version) {
        Path b = file.resolveSibling(file.getFileName() + ".v" + version + ".bak");
        return Files.exists(b) ? file.resolveSibling(file.getFileName() + ".v" + version + "."
                + Instant.now().toEpochMilli() + ".bak") : b;
    }

    public Path file() {
        return file;
    }

    public synchronized Current current() {
        return current;
    }

    public synchronized List<Snapshot> snapshots() {
        return List.copyOf(index);
    }

    /** The document of a snapshot, as it was applied. */
    public synchronized ObjectNode snapshot(int id) {
        Snapshot s = find(id);
        try {
            return ConfigLoader.document(Files.readString(snapshotFile(s.id())), snapshotFile(s.id()).toString());
        } catch (IOException e) {
            throw new ConfigException(snapshotFile(id).toString(), List.of("cannot be read: " + e.getMessage()));
        }
    }

    /**
     * Validates and applies a change; returns the new configuration. {@code change} in {@link Mode#MERGE} is a
     * partial document in the current format; in {@link Mode#REPLACE} a whole one (an older format is migrated).
     * Throws {@link ConfigException} listing every problem, and then nothing has changed.
     */
    public synchronized Current apply(JsonNode change, Mode mode, String origin) throws IOException {
        if (!(change instanceof ObjectNode patch)) {
            throw new ConfigException("change from " + origin, List.of("the change must be a section of keys, found "
                    + (change == null ? "nothing" : change.getNodeType().toString().toLowerCase())));
        }
        ObjectNode next;
        if (mode == Mode.REPLACE) {
            next = patch.deepCopy();
            Migrations.migrate(next, "change from " + origin);
        } else {
            if (patch.has("schemaVersion") && Migrations.version(patch) != DeviceConfig.SCHEMA_VERSION) {
                throw new ConfigException("change from " + origin, List.of("schemaVersion: a partial change must be"
                        + " in the current format (" + DeviceConfig.SCHEMA_VERSION + "); send a whole configuration"
                        + " to have it migrated"));
            }
            next = current.document().deepCopy();
            mergeChange(next, patch);
        }
        next.put("schemaVersion", DeviceConfig.SCHEMA_VERSION);
        DeviceConfig c = ConfigLoader.bind(next, "change from " + origin);
        return commit(next, c, origin);
    }

    /** Applies snapshot {@code id} again, as a new change (a rollback is itself a snapshot). */
    public synchronized Current rollback(int id, String origin) throws IOException {
        ObjectNode doc = snapshot(id);
        Migrations.migrate(doc, "snapshot " + id);
        DeviceConfig c = ConfigLoader.bind(doc, "snapshot " + id);
        return commit(doc, c, origin + " (rollback to version " + id + ")");
    }

    private Current commit(ObjectNode doc, DeviceConfig c, String origin) throws IOException {
        dev.vigil.core.AtomicFiles.write(file, ConfigLoader.toYaml(doc).getBytes(StandardCharsets.UTF_8));
        Snapshot s = snapshot(doc, origin);
        current = new Current(s.id(), doc, c);
        prune(c.changes().keepSnapshots());
        return current;
    }

    /** Merge patch, except that cameras merge by id: a camera in the patch changes the camera with its id. */
    static void mergeChange(ObjectNode target, ObjectNode patch) {
        ObjectNode rest = patch.deepCopy();
        JsonNode cams = rest.remove("cameras");
        ConfigLoader.merge(target, rest);
        if (cams == null) {
            return;
        }
        if (cams.isNull() || !cams.isArray() || !(target.get("cameras") instanceof ArrayNode existing)) {
            target.set("cameras", cams.deepCopy());
            return;
        }
        for (JsonNode c : cams) {
            String id = c.path("id").asText(null);
            ObjectNode match = null;
            for (JsonNode e : existing) {
                if (id != null && e instanceof ObjectNode o && id.equals(o.path("id").asText(null))) {
                    match = o;
                }
            }
            if (match != null) {
                ConfigLoader.merge(match, c);
            } else {
                existing.add(c.deepCopy());
            }
        }
    }

    private Snapshot snapshot(ObjectNode doc, String origin) throws IOException {
        int id = index.isEmpty() ? 1 : index.get(index.size() - 1).id() + 1;
        String text = ConfigLoader.toYaml(doc);
        dev.vigil.core.AtomicFiles.write(snapshotFile(id), ("# Vigil configuration snapshot " + id + ", " + Instant.now() + ", "
                + origin.replace('\n', ' ') + "\n" + text).getBytes(StandardCharsets.UTF_8));
        Snapshot s = new Snapshot(id, Instant.now().toString(), origin, sha256(canonical(doc)));
        index.add(s);
        writeIndex();
        return s;
    }

    /** Keeps the factory snapshot (the first) and the newest {@code keep - 1}. */
    private void prune(int keep) throws IOException {
        while (index.size() > keep) {
            Snapshot gone = index.remove(1);
            Files.deleteIfExists(snapshotFile(gone.id()));
        }
        writeIndex();
    }

    private void writeIndex() throws IOException {
        dev.vigil.core.AtomicFiles.write(dir.resolve("index.json"), ConfigLoader.json().writeValueAsBytes(index));
    }

    private Snapshot find(int id) {
        return index.stream().filter(s -> s.id() == id).findFirst().orElseThrow(() -> new ConfigException(
                "snapshot " + id, List.of("no configuration snapshot " + id + "; the snapshots are "
                        + index.stream().map(s -> String.valueOf(s.id())).toList())));
    }

    private Path snapshotFile(int id) {
        return dir.resolve(String.format("%06d.yml", id));
    }

    private static String canonical(JsonNode doc) {
        try {
            return ConfigLoader.json().writeValueAsString(ConfigLoader.json().treeToValue(doc, Object.class));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(
                    s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Temporary files of writes a crash interrupted ({@link dev.vigil.core.AtomicFiles}): the old file is intact beside them. */
    private static void removeStaleTemporaries(Path folder, String prefix) throws IOException {
        if (folder == null || !Files.isDirectory(folder)) {
            return;
        }
        try (Stream<Path> s = Files.list(folder)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith(prefix)
                    && p.getFileName().toString().endsWith(".tmp")).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
