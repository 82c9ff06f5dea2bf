package dev.vigil.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Applying, refusing and rolling back changes; snapshots; the live file after a kill in the middle of a write. */
class ConfigStoreTest {
    private static final String BASE = "schemaVersion: 2\ndevice: { id: line1 }\ncameras:\n  - id: a\n  - id: b\n"
            + "    source: { fps: 4 }\ndecision: { consensus: 1 }\n";
    @TempDir
    Path tmp;

    private ConfigStore store() throws Exception {
        Path file = tmp.resolve("vigil.yml");
        if (!Files.exists(file)) {
            Files.writeString(file, BASE);
        }
        return ConfigStore.open(file, tmp.resolve("snapshots"));
    }

    private static JsonNode json(String s) throws Exception {
        return ConfigLoader.json().readTree(s);
    }

    @Test
    void aPartialChangeMergesKeyByKeyAndCamerasById() throws Exception {
        ConfigStore s = store();
        assertEquals(1, s.current().version(), "the factory snapshot");
        assertEquals("factory (the configuration of the first start)", s.snapshots().get(0).origin());
        ConfigStore.Current c = s.apply(json("{\"decision\": {\"uncertaintyBand\": 2.0},"
                + " \"cameras\": [{\"id\": \"b\", \"source\": {\"fps\": 8}}, {\"id\": \"c\"}]}"),
                ConfigStore.Mode.MERGE, "test");
        assertEquals(2, c.version());
        assertEquals(2.0, c.config().decision().uncertaintyBand());
        assertEquals(1, c.config().decision().consensus(), "untouched keys stay");
        assertEquals(List.of("a", "b", "c"), c.config().cameras().stream().map(DeviceConfig.Camera::id).toList());
        assertEquals(8.0, c.config().camera("b").orElseThrow().source().fps());
        assertEquals(2.0, c.config().camera("a").orElseThrow().decision().uncertaintyBand(), "cameras inherit");
        assertEquals(c.config(), ConfigLoader.load(tmp.resolve("vigil.yml")), "the file holds the change");
        assertEquals(c.config(), store().current().config(), "and a restart reads it");
    }

    @Test
    void anInvalidChangeIsRefusedWholeAndChangesNothing() throws Exception {
        ConfigStore s = store();
        byte[] before = Files.readAllBytes(tmp.resolve("vigil.yml"));
        ConfigException e = assertThrows(ConfigException.class, () -> s.apply(json("{\"decision\": {\"consensus\":"
                + " 0}, \"web\": {\"prot\": 80}}"), ConfigStore.Mode.MERGE, "test"));
        // both at once: the unknown key and the value rule it used to hide until the key was fixed
        assertEquals(2, e.problems().size(), e.problems().toString());
        assertTrue(e.problems().get(0).startsWith("web.prot: unknown key; did you mean 'port'?"), e.problems()
                .toString());
        assertTrue(e.problems().get(1).startsWith("decision.consensus: 0 must be between 1 and 100"), e.problems()
                .toString());
        e = assertThrows(ConfigException.class, () -> s.apply(json("{\"decision\": {\"consensus\": 0},"
                + " \"storage\": {\"auditShare\": 3}}"), ConfigStore.Mode.MERGE, "test"));
        assertEquals(2, e.problems().size(), e.problems().toString());
        assertEquals(1, s.current().version());
        assertEquals(1, s.snapshots().size());
        assertEquals(new String(before), Files.readString(tmp.resolve("vigil.yml")));
    }

    @Test
    void replaceAndRollBackToAnySnapshot() throws Exception {
        ConfigStore s = store();
        s.apply(json("{\"device\": {\"id\": \"line2\"}}"), ConfigStore.Mode.REPLACE, "test");
        assertEquals(1, s.current().config().cameras().size(), "replace: the defaults for everything else");
        assertEquals("line2", s.current().config().device().id());
        ConfigStore.Current back = s.rollback(1, "test");
        assertEquals(3, back.version(), "a rollback is a new version");
        assertEquals("line1", back.config().device().id());
        assertEquals(2, back.config().cameras().size());
        assertTrue(s.snapshots().get(2).origin().contains("rollback to version 1"), s.snapshots().toString());
        assertThrows(ConfigException.class, () -> s.rollback(99, "test"));
    }

    @Test
    void aFactoryFileBesideTheConfigurationIsTheFirstSnapshot() throws Exception {
        Files.writeString(tmp.resolve("factory.yml"), "device: { id: factory-default }\n");
        ConfigStore s = store();
        assertEquals(2, s.current().version(), "factory, then the file as found");
        assertEquals("factory-default", s.rollback(1, "test").config().device().id());
    }

    @Test
    void snapshotsArePrunedButTheFactoryOneStays() throws Exception {
        ConfigStore s = store();
        for (int i = 0; i < 6; i++) {
            s.apply(json("{\"changes\": {\"keepSnapshots\": 3}, \"storage\": {\"quotaMb\": " + (100 + i) + "}}"),
                    ConfigStore.Mode.MERGE, "test");
        }
        assertEquals(List.of(1, 6, 7), s.snapshots().stream().map(ConfigStore.Snapshot::id).toList());
        try (var files = Files.list(tmp.resolve("snapshots"))) {
            assertEquals(4, files.count(), "3 snapshots and the index");
        }
    }

    @Test
    void anEditOutsideVigilBecomesASnapshotAtTheNextStart() throws Exception {
        store();
        Files.writeString(tmp.resolve("vigil.yml"), BASE.replace("line1", "line9"));
        ConfigStore s = store();
        assertEquals(2, s.current().version());
        assertTrue(s.snapshots().get(1).origin().contains("changed outside Vigil"));
    }

    /** The child of the kill test: applies two configurations in turn, as fast as it can, until killed. */
    public static void main(String[] args) throws Exception {
        ConfigStore s = ConfigStore.open(Path.of(args[0]), Path.of(args[1]));
        System.out.println("ready");
        System.out.flush();
        for (int i = 0; ; i++) {
            s.apply(ConfigLoader.json().readTree("{\"storage\": {\"quotaMb\": " + (i % 2 == 0 ? 1111 : 2222)
                    + "}, \"changes\": {\"keepSnapshots\": 5}}"), ConfigStore.Mode.MERGE, "writer");
        }
    }

    @Test
    void aKillDuringAWriteLeavesTheOldFileOrTheNewNeverAMix() throws Exception {
        Path file = tmp.resolve("vigil.yml");
        Files.writeString(file, BASE);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (int round = 0; round < 5; round++) {
            Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    ConfigStoreTest.class.getName(), file.toString(), tmp.resolve("snapshots").toString())
                    .redirectErrorStream(true).start();
            assertEquals("ready", new String(p.getInputStream().readNBytes(5)), "child started");
            Thread.sleep(100 + ThreadLocalRandom.current().nextInt(300));
            p.destroyForcibly();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
            DeviceConfig c = ConfigLoader.load(file);
            assertTrue(List.of(2048, 1111, 2222).contains(c.storage().quotaMb()), "quota " + c.storage().quotaMb());
            ConfigStore reopened = ConfigStore.open(file, tmp.resolve("snapshots"));
            assertEquals(c, reopened.current().config(), "the store opens on the file as it is");
            try (var left = Files.list(tmp)) {
                assertEquals(List.of(), left.filter(x -> x.getFileName().toString().endsWith(".tmp")).toList(),
                        "no temporary file left after reopening");
            }
        }
    }
}
