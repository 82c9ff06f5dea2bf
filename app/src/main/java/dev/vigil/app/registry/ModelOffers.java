package dev.vigil.app.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.app.mqtt.ModelOfferPayload;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.core.Folders;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * The device side of a staged model roll-out: a package offered over MQTT ({@code <prefix>/model/offer},
 * {@code {"requestId": "...", "url": "https://.../model.zip", "sha256": "<hex of the zip>"}}) is downloaded, its
 * SHA-256 checked before anything is unpacked, unpacked (only the package's own files; no paths), verified as a
 * package (its manifest's hashes) and entered in the registry as the <em>candidate</em>: it serves only once promoted
 * ({@code model/set}, the page or the API). Every outcome is answered on {@code <prefix>/model/offer/state}. Nothing
 * partial stays on disk: downloads and unpacking happen under {@code <storage>/offers/} in folders removed whatever
 * happens, and the registry copies a package in atomically.
 */
public final class ModelOffers implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ModelOffers.class.getName());
    private static final Pattern SHA256 = Pattern.compile("[0-9a-fA-F]{64}");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> FILES = Set.of(ModelPackage.MODEL, ModelPackage.MANIFEST, ModelPackage.REPORT);
    /** The largest archive accepted (a SqueezeNet package with TTA is about 5 MB; a large backbone some 100s). */
    public static final long MAX_BYTES = 2L << 30;

    private final ModelRegistry registry;
    private final Path work;
    private final Consumer<ModelOfferPayload> answer;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NORMAL).build();
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "vigil-model-offer");
        t.setDaemon(true);
        return t;
    });

    /**
     * @param work scratch folder for downloads ({@code <storage>/offers}); emptied at start
     * @param answer publishes each outcome (and refreshes {@code model/state})
     */
    public ModelOffers(ModelRegistry registry, Path work, Consumer<ModelOfferPayload> answer) {
        this.registry = registry;
        this.work = work;
        this.answer = answer;
        try {
            Folders.deleteTree(work); // what a crash left mid-download
            Files.createDirectories(work);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "model offers: cannot prepare " + work + ": " + e.getMessage());
        }
    }

    /** Takes an offer (the MQTT payload) and handles it in the background, one at a time. */
    public void offer(String payload) {
        worker.submit(() -> answer.accept(handle(payload)));
    }

    /** Handles one offer now; returns the answer (also used by tests and the HTTP API). */
    public ModelOfferPayload handle(String payload) {
        String requestId = null;
        String url = null;
        String sha = null;
        JsonNode o;
        try {
            o = JSON.readTree(payload);
        } catch (IOException e) {
            return ModelOfferPayload.refused(null, null, null, "not a JSON offer (" + e.getMessage()
                    + "); send {\"url\": ..., \"sha256\": ...}", 0, Instant.now());
        }
        requestId = o.path("requestId").asText(null);
        url = o.path("url").asText(null);
        sha = o.path("sha256").asText(null);
        if (url == null || url.isBlank()) {
            return ModelOfferPayload.refused(requestId, url, sha, "url: missing; give the package archive's"
                    + " http(s):// or file: address", 0, Instant.now());
        }
        if (sha == null || !SHA256.matcher(sha).matches()) {
            return ModelOfferPayload.refused(requestId, url, sha, "sha256: " + (sha == null ? "missing" : "'" + sha
                    + "' is not 64 hex digits") + "; give the SHA-256 of the archive", 0, Instant.now());
        }
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            return ModelOfferPayload.refused(requestId, url, sha, "url: not an address (" + e.getMessage() + ")", 0,
                    Instant.now());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!Set.of("http", "https", "file").contains(scheme)) {
            return ModelOfferPayload.refused(requestId, url, sha, "url: scheme '" + scheme + "' is not http, https"
                    + " or file", 0, Instant.now());
        }
        Path dir = null;
        long bytes = 0;
        try {
            Files.createDirectories(work);
            dir = Files.createTempDirectory(work, "offer-");
            Path archive = dir.resolve("package.zip");
            String got;
            try (InputStream in = open(uri); OutputStream out = Files.newOutputStream(archive)) {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                DigestInputStream din = new DigestInputStream(in, md);
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = din.read(buf)) > 0) {
                    bytes += n;
                    if (bytes > MAX_BYTES) {
                        throw new OfferRefused("the archive is larger than " + (MAX_BYTES >> 20) + " MiB");
                    }
                    out.write(buf, 0, n);
                }
                got = HexFormat.of().formatHex(md.digest());
            }
            if (!got.equalsIgnoreCase(sha)) {
                throw new OfferRefused("sha256 mismatch: the offer says " + sha.toLowerCase(Locale.ROOT)
                        + ", the " + bytes + " bytes downloaded hash to " + got + "; nothing was installed");
            }
            Path pkg = dir.resolve("package");
            unzip(archive, pkg);
            ModelRegistry.Entry e = registry.add(pkg, "offer " + url);
            LOG.log(System.Logger.Level.INFO, "model offer {0}: {1} is the candidate", url, e.id());
            return ModelOfferPayload.accepted(requestId, url, sha.toLowerCase(Locale.ROOT), e.id(), bytes,
                    Instant.now());
        } catch (OfferRefused e) {
            return refused(requestId, url, sha, e.getMessage(), bytes);
        } catch (IOException | RuntimeException | NoSuchAlgorithmException | InterruptedException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            String why = e instanceof java.net.ConnectException || e instanceof java.net.http.HttpConnectTimeoutException
                    ? "cannot reach " + uri.getHost() + ":" + uri.getPort() + " (" + e.getClass().getSimpleName() + ")"
                    : e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            return refused(requestId, url, sha, why, bytes);
        } finally {
            try {
                Folders.deleteTree(dir);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "model offer: cannot remove " + dir + ": " + e.getMessage());
            }
        }
    }

    private static ModelOfferPayload refused(String requestId, String url, String sha, String why, long bytes) {
        LOG.log(System.Logger.Level.WARNING, "model offer {0} refused: {1}", url, why);
        return ModelOfferPayload.refused(requestId, url, sha, why, bytes, Instant.now());
    }

    private InputStream open(URI uri) throws IOException, InterruptedException {
        if ("file".equalsIgnoreCase(uri.getScheme())) {
            return Files.newInputStream(Path.of(uri));
        }
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(10)).GET()
                .build(), HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) {
            r.body().close();
            throw new OfferRefused("the server answered HTTP " + r.statusCode() + " for " + uri);
        }
        return r.body();
    }

    /** Unpacks the package's files only: flat, or inside one folder; anything else in the archive is refused. */
    private static void unzip(Path archive, Path to) throws IOException {
        Files.createDirectories(to);
        try (ZipInputStream z = new ZipInputStream(Files.newInputStream(archive))) {
            ZipEntry e;
            while ((e = z.getNextEntry()) != null) {
                if (e.isDirectory()) {
                    continue;
                }
                String name = e.getName();
                String base = name.substring(name.lastIndexOf('/') + 1);
                if (!FILES.contains(base) || name.contains("..") || name.startsWith("/") || name.contains("\\")
                        || name.chars().filter(c -> c == '/').count() > 1) {
                    throw new OfferRefused("the archive holds '" + name + "'; a model package archive holds only "
                            + FILES + " (at its top or in one folder)");
                }
                Path target = to.resolve(base);
                if (Files.exists(target)) {
                    throw new OfferRefused("the archive holds " + base + " twice");
                }
                Files.copy(z, target);
            }
        }
        for (String f : FILES) {
            if (!Files.isRegularFile(to.resolve(f))) {
                throw new OfferRefused("the archive has no " + f + "; a model package is " + FILES);
            }
        }
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }

    /** A refusal with a reason meant for the answer. */
    private static final class OfferRefused extends RuntimeException {
        private static final long serialVersionUID = 1L;

        OfferRefused(String message) {
            super(message);
        }
    }
}
