package dev.vigil.app.registry;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.core.VigilException;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.core.AtomicFiles;
import dev.vigil.core.Folders;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The models a device knows: every version's package under {@code <root>/versions/<id>/}, their list in
 * {@code registry.json}, and which one serves in {@code pointer.json} (active, previous, candidate). Both files are
 * replaced atomically (temp file + rename), and a version folder is copied under a temporary name and renamed into
 * place before it is listed, so a power loss at any moment leaves either the old or the new state: never a pointer
 * to a half-copied package. Rollback is one step: the previous active model becomes active again.
 */
public final class ModelRegistry {
    private static final System.Logger LOG = System.getLogger(ModelRegistry.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules()
            .disable(com.fasterxml.jackson.databind.SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
    private static final String TMP_PREFIX = ".incoming-";

    /** One known model version. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Entry(String id, Instant addedAt, String origin, Double validationAccuracy) {}

    /** Which version serves, which served before it, and which waits for promotion. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Pointer(String active, String previous, String candidate) {
        public static final Pointer EMPTY = new Pointer(null, null, null);
    }

    private final Path root;
    private final List<Entry> entries = new ArrayList<>();
    private Pointer pointer = Pointer.EMPTY;

    /** Opens (or creates) the registry at {@code root}, repairing what an interrupted change left behind. */
    public ModelRegistry(Path root) {
        this.root = root.toAbsolutePath();
        try {
            Files.createDirectories(versions());
            try (Stream<Path> s = Files.list(versions())) {
                for (Path p : s.filter(p -> p.getFileName().toString().startsWith(TMP_PREFIX)).toList()) {
                    LOG.log(System.Logger.Level.WARNING, "model registry: removing {0}, left by an interrupted add", p);
                    Folders.deleteTree(p);
                }
            }
            if (Files.exists(registryFile())) {
                entries.addAll(JSON.readValue(registryFile().toFile(), new TypeReference<List<Entry>>() {}));
            }
            entries.removeIf(e -> {
                boolean missing = !Files.isDirectory(versions().resolve(e.id()));
                if (missing) {
                    LOG.log(System.Logger.Level.WARNING, "model registry: version {0} is listed but its folder is"
                            + " gone; forgetting it", e.id());
                }
                return missing;
            });
            if (Files.exists(pointerFile())) {
                pointer = JSON.readValue(pointerFile().toFile(), Pointer.class);
            }
            pointer = new Pointer(known(pointer.active()), known(pointer.previous()), known(pointer.candidate()));
        } catch (IOException e) {
            throw new VigilException("model registry " + this.root + " cannot be read (" + e.getMessage()
                    + "); check storage.dir, or move the damaged file aside to start an empty registry");
        }
    }

    private String known(String id) {
        return id != null && entries.stream().anyMatch(e -> e.id().equals(id)) ? id : null;
    }

    private Path versions() {
        return root.resolve("versions");
    }

    private Path registryFile() {
        return root.resolve("registry.json");
    }

    private Path pointerFile() {
        return root.resolve("pointer.json");
    }

    /**
     * Verifies the package at {@code dir} and copies it in as the candidate. A package already known (same id) is not
     * copied again. Refuses a package that fails verification, saying why.
     */
    public synchronized Entry add(Path dir, String origin) throws IOException {
        ModelPackage pkg = ModelPackage.open(dir);
        if (!trusted.isEmpty()) {
            List<java.security.PublicKey> keys = new java.util.ArrayList<>(trusted);
            deviceKey().ifPresent(keys::add);
            dev.vigil.core.model.PackageSignature.verify(dir, keys); // refuses with the reason
        }
        String id = pkg.manifest().id();
        Optional<Entry> existing = entries.stream().filter(e -> e.id().equals(id)).findFirst();
        if (existing.isEmpty()) {
            Path tmp = versions().resolve(TMP_PREFIX + id);
            Folders.deleteTree(tmp);
            Files.createDirectories(tmp);
            for (String f : List.of(ModelPackage.MODEL, ModelPackage.MANIFEST, ModelPackage.REPORT,
                    dev.vigil.core.model.PackageSignature.FILE)) {
                if (f.equals(dev.vigil.core.model.PackageSignature.FILE) && !Files.exists(dir.resolve(f))) {
                    continue; // unsigned (no model.trustedKeys)
                }
                AtomicFiles.writeForced(tmp.resolve(f), Files.readAllBytes(dir.resolve(f)));
            }
            ModelPackage.open(tmp);
            AtomicFiles.commit(tmp, versions().resolve(id)); // files forced, folder renamed, registry folder forced
            keepBackbone(pkg.manifest().backbone());
            Object acc = pkg.manifest().metrics() == null ? null : pkg.manifest().metrics().get("validationAccuracy");
            entries.add(new Entry(id, Instant.now(), origin, acc instanceof Number n ? n.doubleValue() : null));
            writeEntries();
        }
        if (!id.equals(pointer.active())) {
            setPointer(new Pointer(pointer.active(), pointer.previous(), id));
        }
        return entries.stream().filter(e -> e.id().equals(id)).findFirst().orElseThrow();
    }

    /** Makes {@code id} the active model; the model active before becomes the one a rollback returns to. */
    public synchronized Pointer promote(String id) throws IOException {
        if (known(id) == null) {
            throw new VigilException("no model '" + id + "' in the registry; known: " + ids());
        }
        if (id.equals(pointer.active())) {
            return pointer;
        }
        return setPointer(new Pointer(id, pointer.active(), id.equals(pointer.candidate()) ? null
                : pointer.candidate()));
    }

    /** Returns to the previous active model, in one step. */
    public synchronized Pointer rollback() throws IOException {
        if (pointer.previous() == null) {
            throw new VigilException("nothing to roll back to: no model was active before "
                    + (pointer.active() == null ? "(no active model)" : pointer.active()));
        }
        return setPointer(new Pointer(pointer.previous(), pointer.active(), pointer.candidate()));
    }

    public synchronized Pointer pointer() {
        return pointer;
    }

    public synchronized List<Entry> entries() {
        return List.copyOf(entries);
    }

    /** Keys a package must be signed by to enter (empty: no signature needed); the device's own key joins them. */
    private List<java.security.PublicKey> trusted = List.of();

    /** Requires packages to be signed by one of {@code keys} (or the device's own key) from now on. */
    public synchronized void trust(List<java.security.PublicKey> keys) {
        this.trusted = List.copyOf(keys);
    }

    /** The device's own signing key ({@code keys/device.key}): made on first use; it signs what the device trains. */
    public Path deviceKeyFile() throws IOException {
        Path dir = root.resolve("keys");
        Path key = dir.resolve("device.key");
        synchronized (this) {
            if (!Files.exists(key)) {
                dev.vigil.core.model.PackageSignature.generate(dir, "device");
            }
        }
        return key;
    }

    private Optional<java.security.PublicKey> deviceKey() {
        Path pub = root.resolve("keys").resolve("device.pub");
        return Files.isRegularFile(pub) ? Optional.of(dev.vigil.core.model.PackageSignature.readPublic(pub))
                : Optional.empty();
    }

    /** The backbone files the versions were trained from, by SHA-256 ({@code backbones/<sha256>.onnx}). */
    private Path backbones() {
        return root.resolve("backbones");
    }

    /**
     * Keeps a copy of the backbone a package was trained from, found where its manifest says it was (and only if the
     * file there still has the manifest's SHA-256), so that retraining on the device needs no download. Once per
     * backbone; a package whose backbone is nowhere to be found is kept all the same (retraining then resolves
     * training.backbone as configured).
     */
    private void keepBackbone(dev.vigil.core.model.Manifest.BackboneRef ref) {
        if (ref == null || ref.sha256() == null || !ref.sha256().matches("[0-9a-f]{64}")) {
            return;
        }
        Path kept = backbones().resolve(ref.sha256() + ".onnx");
        if (Files.exists(kept) || ref.file() == null) {
            return;
        }
        try {
            byte[] bytes = Files.readAllBytes(Path.of(ref.file()));
            if (!dev.vigil.core.Hashing.sha256(bytes).equals(ref.sha256())) {
                LOG.log(System.Logger.Level.INFO, "model registry: {0} no longer holds backbone {1}; not kept",
                        ref.file(), ref.name());
                return;
            }
            AtomicFiles.write(kept, bytes);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.INFO, "model registry: backbone {0} not kept ({1})", ref.name(),
                    e.getMessage());
        }
    }

    /** The kept backbone file with this SHA-256, if the registry has it. */
    public Optional<Path> backboneFile(String sha256) {
        if (sha256 == null || !sha256.matches("[0-9a-f]{64}")) {
            return Optional.empty();
        }
        Path p = backbones().resolve(sha256 + ".onnx");
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }

    /** The folder of a known version's package. */
    public Path packageDir(String id) {
        if (known(id) == null) {
            throw new VigilException("no model '" + id + "' in the registry; known: " + ids());
        }
        return versions().resolve(id);
    }

    /**
     * Keeps a record about a version beside the registry ({@code notes/<id>.<kind>.json}, replaced atomically):
     * its comparison on the evaluation set, its shadow run. The package folder itself is never touched.
     */
    public synchronized void attach(String id, String kind, Object record) throws IOException {
        if (known(id) == null) {
            throw new VigilException("no model '" + id + "' in the registry; known: " + ids());
        }
        Files.createDirectories(root.resolve("notes"));
        AtomicFiles.write(noteFile(id, kind), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(record));
    }

    /** A record kept by {@link #attach}, as JSON; empty when there is none (or it cannot be read). */
    public Optional<com.fasterxml.jackson.databind.JsonNode> attachment(String id, String kind) {
        Path f = noteFile(id, kind);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readTree(f.toFile()));
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "model registry: {0} cannot be read ({1}); ignoring it", f,
                    e.getMessage());
            return Optional.empty();
        }
    }

    private Path noteFile(String id, String kind) {
        return root.resolve("notes").resolve(id + "." + kind + ".json");
    }

    private List<String> ids() {
        return entries.stream().map(Entry::id).toList();
    }

    private Pointer setPointer(Pointer p) throws IOException {
        AtomicFiles.write(pointerFile(), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(p));
        pointer = p;
        return p;
    }

    private void writeEntries() throws IOException {
        AtomicFiles.write(registryFile(), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(entries));
    }
}
