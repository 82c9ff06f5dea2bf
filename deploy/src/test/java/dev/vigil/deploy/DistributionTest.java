package dev.vigil.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The distribution archives the build made (target/dist): their contents per platform, the x86_64 one unpacked and
 * checked against its SHA256SUMS, {@code bin/vigil --version} from a clean folder, {@code install.sh --root} into a
 * temporary root (files, owners, permissions, idempotence), the unit checked by {@code systemd-analyze verify}, and
 * {@code bin/vigil serve} from the unpacked archive on its default configuration with a folder camera becoming healthy.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DistributionTest {
    private static final Path DIST = Path.of("target", "dist");
    private static final String VERSION = System.getProperty("vigil.version", "0.1.0-SNAPSHOT");
    @TempDir
    Path tmp;
    private Path unpacked;

    @BeforeAll
    void unpack() throws Exception {
        Path work = Files.createTempDirectory("vigil-dist-");
        run(work, List.of("tar", "-xzf", archive("linux-x86_64").toAbsolutePath().toString()), Map.of(), 60);
        unpacked = work.resolve("vigil-" + VERSION + "-linux-x86_64");
    }

    private static Path archive(String platform) {
        return DIST.resolve("vigil-" + VERSION + "-" + platform + ".tar.gz");
    }

    @Test
    void eachArchiveHoldsTheReleaseWithOnlyItsPlatformsNativeLibraries() throws Exception {
        for (String platform : List.of("linux-x86_64", "linux-aarch64")) {
            List<String> entries = List.of(run(tmp, List.of("tar", "-tzf", archive(platform).toAbsolutePath()
                    .toString()), Map.of(), 60).split("\n"));
            String top = "vigil-" + VERSION + "-" + platform + "/";
            for (String f : List.of("bin/vigil", "bin/vigil-healthcheck", "etc/vigil.yml", "etc/factory.yml",
                    "systemd/vigil.service", "systemd/vigil-health.timer", "install.sh", "upgrade.sh",
                    "uninstall.sh", "LICENSES/THIRD-PARTY.txt", "SHA256SUMS", "VERSION", "PLATFORM")) {
                assertTrue(entries.contains(top + f), platform + " has " + f);
            }
            assertTrue(entries.stream().anyMatch(e -> e.matches(".*/lib/vigil-app-.*\\.jar")), platform);
            boolean x86 = platform.equals("linux-x86_64");
            assertEquals(x86, entries.stream().anyMatch(e -> e.endsWith("pytorch-native-cpu-2.7.1-linux-x86_64.jar")));
            assertEquals(!x86, entries.stream().anyMatch(e -> e.endsWith("pytorch-native-cpu-2.7.1-linux-aarch64.jar")));
        }
        List<String> natives = new ArrayList<>();
        try (Stream<Path> jars = Files.list(unpacked.resolve("lib"))) {
            for (Path jar : jars.toList()) {
                try (ZipFile z = new ZipFile(jar.toFile())) {
                    z.stream().map(e -> e.getName()).filter(n -> n.matches(".*\\.(so|dll|dylib|jnilib|a)$"))
                            .forEach(natives::add);
                }
            }
        }
        assertTrue(natives.contains("nu/pattern/opencv/linux/x86_64/libopencv_java490.so"), natives.toString());
        assertTrue(natives.contains("ai/onnxruntime/native/linux-x64/libonnxruntime.so"), natives.toString());
        assertTrue(natives.contains("com/sun/jna/linux-x86-64/libjnidispatch.so"), natives.toString());
        List<String> foreign = natives.stream().filter(n -> n.matches(".*(osx|darwin|win|windows|aarch64|ARMv|"
                + "linux-arm|ppc|s390|riscv|mips|sunos|bsd|aix|loongarch|linux-x86/|cu128).*")).toList();
        assertEquals(List.of(), foreign, "no other platform's native libraries in the x86_64 archive");
        run(unpacked, List.of("sha256sum", "--quiet", "-c", "SHA256SUMS"), Map.of(), 60);
    }

    @Test
    void theLauncherRunsFromACleanFolderWithOnlyAJre() throws Exception {
        Path clean = Files.createDirectories(tmp.resolve("clean"));
        String out = run(clean, List.of(unpacked.resolve("bin/vigil").toString(), "--version"), jre(), 60);
        assertTrue(out.contains("vigil 0.1.0"), out);
        out = run(clean, List.of(unpacked.resolve("bin/vigil").toString(), "config", "validate",
                unpacked.resolve("etc/vigil.yml").toString()), jre(), 60);
        assertTrue(out.contains("valid (schemaVersion 2)"), out);
    }

    @Test
    void installIntoATemporaryRootSetsOwnersAndPermissionsAndIsIdempotent() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "install.sh needs root (creates a system user"
                + " and sets owners); run the suite as root to cover it");
        Path root = newRoot("root");
        Path pw = tmp.resolve("admin-password");
        Files.writeString(pw, "first admin secret 42\n");
        String out = run(unpacked, List.of("./install.sh", "--root", root.toString(), "--admin", "ada",
                "--admin-password-file", pw.toString()), jre(), 180);
        assertTrue(out.contains("created the system user vigil"), out);
        String passwd = Files.readString(root.resolve("etc/passwd"));
        String line = passwd.lines().filter(l -> l.startsWith("vigil:")).findFirst().orElseThrow();
        int uid = Integer.parseInt(line.split(":")[2]);
        assertTrue(line.endsWith(":/var/lib/vigil:/usr/sbin/nologin"), line);
        assertEquals("releases/" + VERSION, Files.readSymbolicLink(root.resolve("opt/vigil/current")).toString());
        assertTrue(Files.isExecutable(root.resolve("opt/vigil/releases/" + VERSION + "/bin/vigil")));
        assertEquals("/opt/vigil/current/bin/vigil", Files.readSymbolicLink(root.resolve("usr/local/bin/vigil"))
                .toString());
        owned(root.resolve("etc/vigil"), uid, "rwxr-x---");
        owned(root.resolve("etc/vigil/vigil.yml"), uid, "rw-r-----");
        owned(root.resolve("etc/vigil/factory.yml"), 0, "r--r--r--");
        owned(root.resolve("var/lib/vigil"), uid, "rwxr-x---");
        owned(root.resolve("var/lib/vigil/inbox"), uid, "rwxr-x---");
        owned(root.resolve("var/lib/vigil/accounts.json"), uid, "rw-------");
        assertTrue(Files.readString(root.resolve("var/lib/vigil/accounts.json")).contains("\"ada\""));
        assertFalse(Files.readString(root.resolve("var/lib/vigil/accounts.json")).contains("first admin secret"),
                "only a salted hash is stored");
        owned(root.resolve("etc/systemd/system/vigil.service"), 0, "rw-r--r--");
        assertTrue(Files.isSymbolicLink(root.resolve("etc/systemd/system/multi-user.target.wants/vigil.service")));
        assertTrue(Files.isSymbolicLink(root.resolve("etc/systemd/system/timers.target.wants/vigil-health.timer")));
        owned(root.resolve("opt/vigil/releases/" + VERSION + "/lib"), 0, "rwxr-xr-x");

        // idempotent: nothing recreated, the configuration and the accounts untouched
        Files.writeString(root.resolve("etc/vigil/vigil.yml"), "\n# edited on the device\n",
                java.nio.file.StandardOpenOption.APPEND);
        String config = Files.readString(root.resolve("etc/vigil/vigil.yml"));
        String accounts = Files.readString(root.resolve("var/lib/vigil/accounts.json"));
        out = run(unpacked, List.of("./install.sh", "--root", root.toString()), jre(), 180);
        assertTrue(out.contains("release " + VERSION + " already in place"), out);
        assertFalse(out.contains("created the system user"), out);
        assertFalse(out.contains("admin account"), out);
        assertEquals(1, Files.readString(root.resolve("etc/passwd")).lines().filter(l -> l.startsWith("vigil:"))
                .count());
        assertEquals(config, Files.readString(root.resolve("etc/vigil/vigil.yml")));
        assertEquals(accounts, Files.readString(root.resolve("var/lib/vigil/accounts.json")));

        // the units, as systemd reads them, in a root that has the host's system units (sysinit.target, ...)
        if (Files.isExecutable(Path.of("/usr/bin/systemd-analyze")) && Files.isDirectory(Path.of("/lib/systemd/system"))) {
            Files.createDirectories(root.resolve("usr/lib/systemd"));
            run(tmp, List.of("cp", "-a", "/lib/systemd/system", root.resolve("usr/lib/systemd/").toString()), Map.of(),
                    60);
            for (String unit : List.of("vigil.service", "vigil-health.service", "vigil-health.timer")) {
                String v = run(tmp, List.of("systemd-analyze", "verify", "--root=" + root,
                        "/etc/systemd/system/" + unit), Map.of(), 60);
                assertFalse(v.toLowerCase().contains("unknown") || v.contains("ignoring"), "systemd-analyze verify "
                        + unit + ": " + v);
            }
        } else {
            System.out.println("SKIPPED: systemd-analyze verify (systemd-analyze or /lib/systemd/system missing)");
        }
    }

    @Test
    void theUnpackedServiceBecomesHealthyOnItsDefaultConfiguration() throws Exception {
        int port = freePort();
        Path file = tmp.resolve("vigil.yml");
        Files.writeString(file, onThisMachine(Files.readString(unpacked.resolve("etc/vigil.yml")), frames("frames"),
                tmp.resolve("data"), port));
        Map<String, String> env = new java.util.HashMap<>(jre());
        env.put("VIGIL_CACHE", tmp.resolve("cache").toString());
        ProcessBuilder pb = new ProcessBuilder(unpacked.resolve("bin/vigil").toString(), "serve", "--config",
                file.toString()).directory(tmp.toFile()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("serve.log").toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            String health = null;
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (System.nanoTime() < until && (health == null || !health.contains("\"UP\""))) {
                Thread.sleep(500);
                health = get("http://127.0.0.1:" + port + "/health/readiness");
                assertTrue(p.isAlive(), "the service exited: " + Files.readString(tmp.resolve("serve.log")));
            }
            assertTrue(health != null && health.contains("\"status\":\"UP\""), health + "\n"
                    + Files.readString(tmp.resolve("serve.log")));
            p.destroy(); // SIGTERM, as systemctl stop sends
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the service stops on SIGTERM within 30 s (TimeoutStopSec)");
        } finally {
            p.destroyForcibly();
            p.waitFor(20, TimeUnit.SECONDS);
        }
    }

    /**
     * {@code upgrade.sh} against an installed root with a running service: a release that never becomes healthy is
     * switched back by itself (current, configuration, the old release serving again); a good one stays.
     */
    @Test
    void anUnhealthyUpgradeIsSwitchedBackAndAHealthyOneStays() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "install.sh and upgrade.sh need root; run the"
                + " suite as root to cover them");
        Path root = newRoot("uroot");
        Path pw = tmp.resolve("pw");
        Files.writeString(pw, "upgrade test admin 1\n");
        run(unpacked, List.of("./install.sh", "--root", root.toString(), "--admin-password-file", pw.toString()),
                jre(), 180);
        int port = freePort();
        Path conf = root.resolve("etc/vigil/vigil.yml");
        Files.writeString(conf, onThisMachine(Files.readString(conf), frames("uframes"),
                root.resolve("var/lib/vigil"), port));
        String before = Files.readString(conf);
        // what systemctl restart would do, for a root without systemd: stop the running service, start current
        Path restart = tmp.resolve("restart.sh");
        Files.writeString(restart, String.join("\n", "#!/bin/bash",
                "pid=" + tmp.resolve("service.pid"),
                "[ -f $pid ] && kill $(cat $pid) 2>/dev/null && while kill -0 $(cat $pid) 2>/dev/null; do sleep 0.2; done",
                "VIGIL_CACHE=" + tmp.resolve("cache") + " nohup " + root + "/opt/vigil/current/bin/vigil serve --config "
                        + conf + " >> " + tmp.resolve("service.log") + " 2>&1 &",
                "echo $! > $pid", ""));
        restart.toFile().setExecutable(true);
        String health = "http://127.0.0.1:" + port + "/health/liveness";
        try {
            run(tmp, List.of(restart.toString()), jre(), 30);
            awaitHealthy(health);

            Path bad = release("0.1.0-broken", true);
            ProcessBuilder pb = new ProcessBuilder(bad.resolve("upgrade.sh").toString(), "--root", root.toString(),
                    "--health-seconds", "25", "--restart-cmd", restart.toString(), "--health-url", health)
                    .directory(bad.toFile()).redirectErrorStream(true);
            pb.environment().clear();
            pb.environment().putAll(jre());
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
            assertEquals(1, p.exitValue(), out);
            assertTrue(out.contains("did not become healthy"), out);
            assertEquals("releases/" + VERSION, Files.readSymbolicLink(root.resolve("opt/vigil/current")).toString(),
                    "switched back");
            assertEquals(before, Files.readString(conf), "the configuration from before the upgrade");
            awaitHealthy(health);

            Path good = release("0.1.1", false);
            out = run(good, List.of("./upgrade.sh", "--root", root.toString(), "--health-seconds", "90",
                    "--restart-cmd", restart.toString(), "--health-url", health), jre(), 150);
            assertTrue(out.contains("Vigil 0.1.1 is healthy"), out);
            assertEquals("releases/0.1.1", Files.readSymbolicLink(root.resolve("opt/vigil/current")).toString());
            assertEquals("releases/" + VERSION, Files.readSymbolicLink(root.resolve("opt/vigil/previous"))
                    .toString());
            assertTrue(Files.exists(root.resolve("var/lib/vigil/accounts.json")), "the data survive upgrades");
        } finally {
            Path pid = tmp.resolve("service.pid");
            if (Files.exists(pid)) {
                run(tmp, List.of("bash", "-c", "kill $(cat " + pid + ") 2>/dev/null; true"), jre(), 30);
            }
        }
    }

    /**
     * The shipped default configuration made to run here: a folder camera instead of the simulated line, data under
     * {@code data}, HTTP on a free loopback port, no broker.
     */
    private static String onThisMachine(String defaultYaml, Path frames, Path data, int port) {
        return defaultYaml.replace("source: { type: synthetic, fps: 2, width: 320, height: 320 }",
                        "source: { type: folder, path: '" + frames + "', fps: 2 }")
                .replace("/var/lib/vigil", data.toString())
                .replace("port: 8080", "port: " + port + ", host: 127.0.0.1")
                .replace("tcp://127.0.0.1:1883", "tcp://127.0.0.1:9");
    }

    /** Three small PNG frames for a folder camera. */
    private Path frames(String name) throws IOException {
        Path frames = Files.createDirectories(tmp.resolve(name));
        for (int i = 0; i < 3; i++) {
            java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(64, 64,
                    java.awt.image.BufferedImage.TYPE_INT_RGB);
            img.setRGB(i * 10, i * 10, 0xffffff);
            javax.imageio.ImageIO.write(img, "png", frames.resolve("f" + i + ".png").toFile());
        }
        return frames;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * An empty root for install.sh with the host's account files, so that {@code useradd --prefix} can add the
     * service user there as it would on a device.
     */
    private Path newRoot(String name) throws IOException {
        Path root = Files.createDirectories(tmp.resolve(name).resolve("etc")).getParent();
        for (String f : List.of("passwd", "group", "shadow", "gshadow")) {
            Path host = Path.of("/etc", f);
            if (Files.exists(host)) {
                Files.copy(host, root.resolve("etc").resolve(f));
            }
        }
        return root;
    }

    /** A copy of the unpacked release as another version; a broken one never answers /health. */
    private Path release(String version, boolean broken) throws Exception {
        Path dir = tmp.resolve("vigil-" + version);
        run(tmp, List.of("cp", "-a", unpacked.toString(), dir.toString()), jre(), 60);
        Files.writeString(dir.resolve("VERSION"), version + "\n");
        if (broken) {
            Path real = dir.resolve("bin/vigil-real");
            Files.move(dir.resolve("bin/vigil"), real);
            Files.writeString(dir.resolve("bin/vigil"), "#!/bin/bash\n# a build that starts but never serves\n"
                    + "[ \"$1\" = serve ] && exec sleep 600\nexec \"$(dirname \"$0\")/vigil-real\" \"$@\"\n");
            dir.resolve("bin/vigil").toFile().setExecutable(true);
        }
        run(dir, List.of("bash", "-c", "find . -type f ! -name SHA256SUMS -printf '%P\\n' | LC_ALL=C sort"
                + " | xargs sha256sum > SHA256SUMS"), jre(), 60);
        return dir;
    }

    private static void awaitHealthy(String url) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        String h = null;
        while (System.nanoTime() < until && (h == null || !h.contains("\"UP\""))) {
            Thread.sleep(500);
            h = get(url);
        }
        assertTrue(h != null && h.contains("\"status\":\"UP\""), "not healthy: " + h);
    }

    private static String get(String url) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
            c.setConnectTimeout(1000);
            c.setReadTimeout(2000);
            try (var in = c.getResponseCode() < 400 ? c.getInputStream() : c.getErrorStream()) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            return null;
        }
    }

    private static void owned(Path p, int uid, String perms) throws IOException {
        assertEquals(uid, (int) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS), "owner of " + p);
        assertEquals(perms, PosixFilePermissions.toString(Files.getPosixFilePermissions(p,
                LinkOption.NOFOLLOW_LINKS)), "permissions of " + p);
    }

    /** The environment of a device with only a JRE: JAVA_HOME, a plain PATH, no build tree. */
    private static Map<String, String> jre() {
        return Map.of("JAVA_HOME", System.getProperty("java.home"), "PATH", "/usr/bin:/bin:/usr/sbin:/sbin");
    }

    private static String run(Path dir, List<String> cmd, Map<String, String> env, int seconds) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        if (!env.isEmpty()) {
            pb.environment().clear();
            pb.environment().putAll(env);
            pb.environment().put("HOME", dir.toString());
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(seconds, TimeUnit.SECONDS), cmd + " timed out");
        assertEquals(0, p.exitValue(), cmd + " failed:\n" + out);
        return out;
    }
}
