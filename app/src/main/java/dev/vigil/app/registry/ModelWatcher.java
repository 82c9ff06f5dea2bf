package dev.vigil.app.registry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * Watches the configured model package folder and hands it to the pipeline when its manifest or its files change (a new package
 * copied or renamed into place, or a symlink switched). Polls the manifest's bytes rather than using a WatchService,
 * which misses symlink switches and atomic renames of the parent. A refused package is not retried until it changes.
 */
public final class ModelWatcher {
    private final Path dir;
    private final Function<Path, String> swap;
    private String lastSeen;

    public ModelWatcher(Path dir, Function<Path, String> swap) {
        this.dir = dir;
        this.swap = swap;
        this.lastSeen = fingerprint();
    }

    public void poll() {
        String now = fingerprint();
        if (now != null && !now.equals(lastSeen)) {
            lastSeen = now;
            swap.apply(dir);
        }
    }

    private String fingerprint() {
        try {
            Path manifest = dir.resolve("manifest.json");
            if (!Files.exists(manifest)) {
                return null;
            }
            StringBuilder f = new StringBuilder(dev.vigil.core.Hashing.sha256(Files.readAllBytes(manifest)));
            for (String name : new String[] {"model.onnx", "report.json"}) {
                Path p = dir.resolve(name);
                if (Files.exists(p)) {
                    f.append(' ').append(Files.size(p)).append('@').append(Files.getLastModifiedTime(p).toMillis());
                }
            }
            return f.toString();
        } catch (IOException e) {
            return lastSeen;
        }
    }
}
