package dev.vigil.core;


import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Folder helpers shared by the trainer and the service. */
public final class Folders {
    private Folders() {}

    /**
     * Removes a folder and everything under it; nothing when it is null or absent. Links inside are removed, never
     * followed (sample hard links and dataset symlinks leave their targets alone).
     */
    public static void deleteTree(Path p) throws IOException {
        if (p == null || !Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}
