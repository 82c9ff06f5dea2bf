package dev.vigil.app.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vigil.core.VigilException;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.core.Hashing;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry with synthetic (hash-consistent) packages: no training needed to test the bookkeeping. */
class ModelRegistryTest {
    @TempDir
    Path tmp;

    /** A package whose files verify: bytes of model.onnx do not matter to the registry. */
    static Path fakePackage(Path dir, String id) throws Exception {
        Files.createDirectories(dir);
        byte[] model = ("not really onnx " + id).getBytes();
        byte[] report = "{}".getBytes();
        Files.write(dir.resolve(ModelPackage.MODEL), model);
        Files.write(dir.resolve(ModelPackage.REPORT), report);
        ObjectNode m = ModelPackage.json().createObjectNode();
        m.put("schemaVersion", 1).put("id", id).put("createdAt", "2026-11-23T10:00:00Z");
        m.putArray("labels").add("defective").add("ok");
        m.put("okLabel", "ok");
        ObjectNode in = m.putObject("input");
        in.put("tensor", "data_0").put("width", 224).put("height", 224).put("colorOrder", "BGR").put("scale", 1.0)
                .put("layout", "NCHW");
        in.putArray("mean").add(104).add(117).add(123);
        in.putArray("std").add(1).add(1).add(1);
        m.putObject("output").put("tensor", "probabilities").put("kind", "probabilities");
        m.putObject("backbone").put("name", "test").put("sha256", "0".repeat(64));
        m.putObject("metrics").put("validationAccuracy", 0.9);
        m.put("modelSha256", Hashing.sha256(model));
        m.putObject("files").put(ModelPackage.MODEL, Hashing.sha256(model)).put(ModelPackage.REPORT,
                Hashing.sha256(report));
        Files.write(dir.resolve(ModelPackage.MANIFEST), ModelPackage.json().writeValueAsBytes(m));
        return dir;
    }

    @Test
    void addPromoteRollbackAndReopen() throws Exception {
        ModelRegistry r = new ModelRegistry(tmp.resolve("reg"));
        r.add(fakePackage(tmp.resolve("a"), "model-a"), "test");
        assertEquals("model-a", r.pointer().candidate());
        assertNull(r.pointer().active());
        r.promote("model-a");
        r.add(fakePackage(tmp.resolve("b"), "model-b"), "test");
        r.promote("model-b");
        assertEquals(new ModelRegistry.Pointer("model-b", "model-a", null), r.pointer());
        ModelPackage.open(r.packageDir("model-b"));
        ModelRegistry again = new ModelRegistry(tmp.resolve("reg"));
        assertEquals(r.pointer(), again.pointer(), "the pointer survives a restart");
        assertEquals(2, again.entries().size());
        assertEquals(0.9, again.entries().get(0).validationAccuracy());
        again.rollback();
        assertEquals(new ModelRegistry.Pointer("model-a", "model-b", null), again.pointer());
        assertEquals("model-a", new ModelRegistry(tmp.resolve("reg")).pointer().active());
    }

    @Test
    void refusesTamperedPackagesUnknownIdsAndRollbackWithNothingBefore() throws Exception {
        ModelRegistry r = new ModelRegistry(tmp.resolve("reg"));
        Path bad = fakePackage(tmp.resolve("bad"), "model-bad");
        Files.write(bad.resolve(ModelPackage.MODEL), "tampered".getBytes());
        assertThrows(VigilException.class, () -> r.add(bad, "test"));
        assertTrue(r.entries().isEmpty(), "nothing of a refused package is kept");
        VigilException e = assertThrows(VigilException.class, () -> r.promote("nope"));
        assertTrue(e.getMessage().contains("nope"), e.getMessage());
        assertThrows(VigilException.class, r::rollback);
    }

    @Test
    void leftoversOfAnInterruptedAddAreRemovedAndDanglingPointersDropped() throws Exception {
        Path root = tmp.resolve("reg");
        ModelRegistry r = new ModelRegistry(root);
        r.add(fakePackage(tmp.resolve("a"), "model-a"), "test");
        r.promote("model-a");
        Files.createDirectories(root.resolve("versions/.incoming-model-x"));
        Files.writeString(root.resolve("pointer.json"),
                "{\"active\":\"model-a\",\"previous\":\"model-gone\",\"candidate\":null}");
        ModelRegistry again = new ModelRegistry(root);
        assertFalse(Files.exists(root.resolve("versions/.incoming-model-x")));
        assertEquals(new ModelRegistry.Pointer("model-a", null, null), again.pointer());
    }

    /** Flips the active model as fast as it can until killed: the child process of the SIGKILL test. */
    public static void main(String[] args) throws Exception {
        ModelRegistry r = new ModelRegistry(Path.of(args[0]));
        System.out.println("ready");
        System.out.flush();
        while (true) {
            r.promote(ThreadLocalRandom.current().nextBoolean() ? "model-a" : "model-b");
        }
    }

    @Test
    void sigkillDuringPromotionLeavesAConsistentRegistry() throws Exception {
        Path root = tmp.resolve("reg");
        ModelRegistry r = new ModelRegistry(root);
        r.add(fakePackage(tmp.resolve("a"), "model-a"), "test");
        r.add(fakePackage(tmp.resolve("b"), "model-b"), "test");
        r.promote("model-a");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (int round = 0; round < 5; round++) {
            Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    ModelRegistryTest.class.getName(), root.toString()).redirectErrorStream(true).start();
            String first = new String(p.getInputStream().readNBytes(6));
            assertEquals("ready\n", first, "child started");
            Thread.sleep(50 + ThreadLocalRandom.current().nextInt(200));
            p.destroyForcibly();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
            ModelRegistry after = new ModelRegistry(root);
            assertTrue(Set.of("model-a", "model-b").contains(after.pointer().active()),
                    "active model after SIGKILL: " + after.pointer());
            assertEquals(List.of("model-a", "model-b"), after.entries().stream().map(ModelRegistry.Entry::id)
                    .toList());
            ModelPackage.open(after.packageDir(after.pointer().active()));
        }
    }
}
