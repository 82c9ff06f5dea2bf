package dev.vigil.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The one way Vigil replaces a file or a folder so that a crash or a power cut at any moment leaves the old one or
 * the complete new one, never a mix or an empty file: the new bytes go to a temporary sibling, which is forced to
 * disk ({@code fsync}), renamed over the target, and then the folder is forced, so the rename itself survives.
 * Every state file goes through here: the model registry and its pointer, accounts, the configuration and its
 * snapshots, labels and sample sidecars, the class list, training results (model packages), journal pointers.
 * {@code AtomicFilesStraceTest} watches the real system calls to prove the order.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Replaces {@code file} with {@code bytes} durably (temporary file, force, rename, force the folder). */
    public static void write(Path file, byte[] bytes) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        // not createTempFile: that makes the file owner-only, and an output file should get the umask's permissions
        Path tmp = dir.resolve("." + file.getFileName() + "." + Long.toHexString(System.nanoTime()) + ".tmp");
        try {
            writeForced(tmp, bytes);
            move(tmp, file);
            forceFolder(dir);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Replaces {@code file} atomically but without forcing anything to disk: for caches only, whose files can be
     * computed again (a power cut may leave the old file, the new one, or an empty one the reader must refuse).
     */
    public static void writeCache(Path file, byte[] bytes) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + file.getFileName() + "." + Long.toHexString(System.nanoTime()) + ".tmp");
        try {
            Files.write(tmp, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            move(tmp, file);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public static void writeString(Path file, String text) throws IOException {
        write(file, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Creates {@code file} (which must not exist) with {@code bytes}, forced to disk; no rename. */
    public static void writeForced(Path file, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
    }

    /**
     * Renames a complete, already forced file or folder {@code from} over {@code to} and forces the folder they are
     * in (a folder's files must each have been forced, e.g. with {@link #writeForced}).
     */
    public static void commit(Path from, Path to) throws IOException {
        if (Files.isDirectory(from)) {
            forceFolder(from); // its entries: the files in it
        }
        move(from, to);
        forceFolder(to.toAbsolutePath().getParent());
    }

    /** An atomic rename where the file system can, a plain one where it cannot. */
    public static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Forces a folder's entries to disk; a file system that cannot open a folder is left as it is. */
    public static void forceFolder(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // some file systems cannot open or sync a folder; the rename is still atomic there
        }
    }
}
