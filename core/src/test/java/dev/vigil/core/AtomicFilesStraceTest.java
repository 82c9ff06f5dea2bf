package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The order of the real system calls of a durable write, seen by Debian's {@code strace} around a child JVM: the
 * temporary file is forced, then renamed over the target, then the folder is forced. Calling a helper proves nothing;
 * this watches the kernel being asked.
 */
class AtomicFilesStraceTest {
    @TempDir
    Path tmp;

    /** The child: replaces the file named by its first argument, then writes a folder package (second argument). */
    public static final class Writer {
        public static void main(String[] args) throws Exception {
            AtomicFiles.write(Path.of(args[0]), "{\"active\":\"model-b\"}".getBytes(StandardCharsets.UTF_8));
            Path staging = Path.of(args[1] + ".staging");
            Files.createDirectories(staging);
            AtomicFiles.writeForced(staging.resolve("model.onnx"), new byte[] {1, 2, 3});
            AtomicFiles.commit(staging, Path.of(args[1]));
        }
    }

    @Test
    void forceTheTemporaryFileThenRenameThenForceTheFolder() throws Exception {
        boolean strace = Files.isExecutable(Path.of("/usr/bin/strace"));
        if (!strace && "true".equalsIgnoreCase(System.getenv("CI"))) {
            org.junit.jupiter.api.Assertions.fail("strace is missing; scripts/test.sh installs it (apt-get install"
                    + " strace)");
        }
        assumeTrue(strace, "SKIPPED: strace is missing (apt-get install strace; scripts/test.sh installs it)");
        Path dir = Files.createDirectories(tmp.resolve("state"));
        Path target = dir.resolve("pointer.json");
        Files.writeString(target, "{\"active\":\"model-a\"}");
        Path pkg = dir.resolve("pkg");
        Path trace = tmp.resolve("trace.txt");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder("/usr/bin/strace", "-f", "-y", "-qq", "-o", trace.toString(), "-e",
                "trace=fsync,fdatasync,rename,renameat,renameat2", java, "-cp", System.getProperty("java.class.path"),
                Writer.class.getName(), target.toString(), pkg.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assumeTrue(!out.contains("Operation not permitted") && !out.contains("ptrace"), "SKIPPED: this machine does"
                + " not allow ptrace: " + out);
        assertEquals(0, p.exitValue(), out);
        assertEquals("{\"active\":\"model-b\"}", Files.readString(target));
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(pkg.resolve("model.onnx")));

        List<String> calls = Files.readAllLines(trace).stream().map(l -> l.replaceFirst("^\\d+\\s+", ""))
                .filter(l -> l.contains(dir.toString())).toList();
        String d = dir.toString();
        // the file: fsync(<.pointer.json....tmp>) < rename(tmp -> pointer.json) < fsync(<dir>)
        int forcedTmp = index(calls, l -> l.matches("f(data)?sync\\(\\d+<" + q(d) + "/\\.pointer\\.json\\.[0-9a-f]+"
                + "\\.tmp>\\).*"));
        int renamed = index(calls, l -> l.matches("rename(at2?)?\\(.*\\.pointer\\.json\\.[0-9a-f]+\\.tmp.*"
                + q(d) + "/pointer\\.json.*"));
        int forcedDir = indexFrom(calls, renamed, l -> l.matches("f(data)?sync\\(\\d+<" + q(d) + ">\\).*"));
        assertTrue(forcedTmp >= 0 && renamed > forcedTmp && forcedDir > renamed,
                "expected fsync(tmp) < rename < fsync(dir), found tmp at " + forcedTmp + ", rename at " + renamed
                        + ", dir at " + forcedDir + " in " + calls);
        // the folder: its file forced, then the rename of the folder, then its parent forced
        int forcedModel = index(calls, l -> l.matches("f(data)?sync\\(\\d+<" + q(d) + "/pkg\\.staging/model\\.onnx>\\)"
                + ".*"));
        int forcedStaging = index(calls, l -> l.matches("f(data)?sync\\(\\d+<" + q(d) + "/pkg\\.staging>\\).*"));
        int renamedPkg = index(calls, l -> l.matches("rename(at2?)?\\(.*pkg\\.staging.*" + q(d) + "/pkg[\">].*"));
        int forcedParent = indexFrom(calls, renamedPkg, l -> l.matches("f(data)?sync\\(\\d+<" + q(d) + ">\\).*"));
        assertTrue(forcedModel >= 0 && forcedStaging > forcedModel && renamedPkg > forcedStaging
                && forcedParent > renamedPkg,
                "expected fsync(model.onnx) < fsync(pkg.staging) < rename(pkg) < fsync(dir) in " + calls);
        System.out.println("system calls of a durable write: " + calls);
    }

    private static String q(String s) {
        return java.util.regex.Pattern.quote(s);
    }

    private static int index(List<String> l, java.util.function.Predicate<String> p) {
        return indexFrom(l, -1, p);
    }

    private static int indexFrom(List<String> l, int after, java.util.function.Predicate<String> p) {
        for (int i = after + 1; i < l.size(); i++) {
            if (p.test(l.get(i))) {
                return i;
            }
        }
        return -1;
    }
}
