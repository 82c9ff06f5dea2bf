package dev.vigil.trainer.backbone;

import dev.vigil.core.image.Preprocessing;

import dev.vigil.core.VigilException;
import dev.vigil.trainer.onnx.GraphAnalysis;
import dev.vigil.trainer.onnx.GraphAnatomy;
import dev.vigil.trainer.onnx.OnnxGraph;
import dev.vigil.core.AtomicFiles;
import dev.vigil.core.Hashing;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * Turns {@code --backbone NAME|FILE} into a {@link Backbone}. A catalog name is looked up in the local model cache
 * and downloaded there (and verified) when missing; a path is read as it is. A file with the wrong hash, a truncated
 * or corrupt file, or an unknown name is refused with a message that says what to do.
 */
public final class BackboneResolver {
    private final Path modelCache;
    private final Consumer<String> log;

    public BackboneResolver(Path modelCache, Consumer<String> log) {
        this.modelCache = modelCache;
        this.log = log;
    }

    /** The default model cache: {@code $VIGIL_MODEL_CACHE}, else {@code ~/.cache/vigil/models}. */
    public static Path defaultCache() {
        String env = System.getenv("VIGIL_MODEL_CACHE");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "vigil", "models");
    }

    public Backbone resolve(String nameOrFile) {
        Path asPath = Path.of(nameOrFile);
        boolean looksLikePath = nameOrFile.contains("/") || nameOrFile.endsWith(".onnx") || Files.exists(asPath);
        if (!looksLikePath) {
            BackboneSpec spec = BackboneCatalog.byName(nameOrFile).orElseThrow(() -> new VigilException(
                    "unknown backbone '" + nameOrFile + "': use one of " + BackboneCatalog.names()
                            + ", or the path of an ONNX file"));
            return load(fetch(spec), spec);
        }
        if (!Files.isRegularFile(asPath)) {
            throw new VigilException("backbone file " + asPath + " does not exist; give an ONNX file or one of "
                    + BackboneCatalog.names());
        }
        String sha = sha(asPath);
        BackboneSpec spec = BackboneCatalog.bySha256(sha).orElse(null);
        return spec != null ? load(asPath, spec) : loadUnknown(asPath, sha);
    }

    /** The verified cached file for a catalog backbone, downloading it first if it is missing. */
    public Path fetch(BackboneSpec spec) {
        Path file = modelCache.resolve(spec.fileName());
        if (!Files.exists(file)) {
            download(spec, file);
        }
        String sha = sha(file);
        if (!sha.equalsIgnoreCase(spec.sha256())) {
            throw new VigilException("backbone file " + file + " has SHA-256 " + sha + " but " + spec.name()
                    + " must have " + spec.sha256() + "; the file is corrupt, truncated or a different model:"
                    + " delete it to download it again, or pass --backbone with the path of a good copy");
        }
        return file;
    }

    private void download(BackboneSpec spec, Path file) {
        log.accept("downloading " + spec.name() + " from " + spec.url());
        try {
            Files.createDirectories(modelCache);
            HttpClient client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
                    .connectTimeout(Duration.ofSeconds(20)).build();
            HttpResponse<InputStream> response = client.send(HttpRequest.newBuilder(URI.create(spec.url()))
                    .timeout(Duration.ofMinutes(5)).build(), HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() != 200) {
                throw new IOException("HTTP " + response.statusCode());
            }
            Path tmp = Files.createTempFile(modelCache, "." + spec.fileName(), ".part");
            try (InputStream in = response.body()) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                String sha = Hashing.sha256(tmp);
                if (!sha.equalsIgnoreCase(spec.sha256())) {
                    throw new VigilException("the download of " + spec.name() + " from " + spec.url()
                            + " has SHA-256 " + sha + ", not the pinned " + spec.sha256()
                            + "; refusing it. Copy a good file to " + file + " or pass --backbone FILE");
                }
                AtomicFiles.move(tmp, file);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new VigilException("backbone " + spec.name() + " is not in the model cache (" + file
                    + ") and could not be downloaded from " + spec.url() + " (" + e + "); on an offline device copy "
                    + spec.fileName() + " there, or pass --backbone with the path of the file");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VigilException("download of " + spec.name() + " was interrupted");
        }
    }

    private Backbone load(Path file, BackboneSpec spec) {
        OnnxGraph graph = OnnxGraph.load(file).toFloat32();
        GraphAnatomy anatomy = GraphAnalysis.analyse(graph);
        if (spec.blocks().isEmpty()) {
            log.accept("backbone " + spec.name() + ": graph analysis found " + anatomy.blocks().size() + " blocks"
                    + " (the last, " + anatomy.features() + ", is the feature map the ImageNet classifier reads)");
        } else if (!anatomy.blocks().equals(spec.blocks())) {
            log.accept("warning: graph analysis of " + spec.name() + " found blocks " + anatomy.blocks()
                    + " where the catalog lists " + spec.blocks() + "; using the catalog's");
            anatomy = new GraphAnatomy(anatomy.input(), anatomy.output(), anatomy.cutPoints(), spec.blocks(),
                    spec.blocks().get(spec.blocks().size() - 1));
        }
        return new Backbone(spec.name(), file, spec.sha256(), graph, anatomy, spec.preprocessing(), true);
    }

    private Backbone loadUnknown(Path file, String sha) {
        OnnxGraph graph = OnnxGraph.load(file).toFloat32();
        GraphAnatomy anatomy = GraphAnalysis.analyse(graph);
        long[] dims = graph.inputDims();
        int size = dims.length == 4 && dims[2] > 0 ? (int) dims[2] : 224;
        log.accept("note: " + file.getFileName() + " is not in the catalog; assuming torchvision ImageNet"
                + " preprocessing (RGB, /255, ImageNet mean and std) at " + size + "x" + size);
        String name = file.getFileName().toString().replaceFirst("\\.onnx$", "");
        return new Backbone(name, file, sha, graph, anatomy, Preprocessing.imagenet(size), false);
    }

    private static String sha(Path file) {
        try {
            return Hashing.sha256(file);
        } catch (IOException e) {
            throw new VigilException("cannot read backbone file " + file + ": " + e.getMessage());
        }
    }
}
