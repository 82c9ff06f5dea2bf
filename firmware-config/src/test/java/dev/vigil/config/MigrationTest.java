package dev.vigil.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Golden files of every schemaVersion stay readable, with the same meaning, by this version. */
class MigrationTest {
    private static final Path V1 = Path.of("src", "test", "resources", "golden", "vigil-v1.yml");
    @TempDir
    Path tmp;

    @Test
    void aVersionOneFileIsReadWithTheSameMeaning() {
        ConfigLoader.Loaded l = ConfigLoader.read(V1);
        assertEquals(1, l.writtenVersion());
        assertEquals(List.of("v1 -> v2: model.device moved to inference.device (\"cuda\")"), l.migrations());
        DeviceConfig c = l.config();
        assertEquals(DeviceConfig.SCHEMA_VERSION, c.schemaVersion());
        assertEquals("press-7", c.device().id());
        assertEquals("cuda", c.inference().device(), "model.device now lives in inference.device");
        assertEquals("/var/lib/vigil/inbox", c.model().packageDir());
        assertFalse(c.model().watch());
        assertEquals(4, c.cameras().size());
        DeviceConfig.Camera top = c.cameras().get(0);
        assertEquals("v4l2", top.source().type());
        assertEquals(new DeviceConfig.Roi(100, 0, 720, 720), top.roi());
        assertEquals(1.5, top.decision().uncertaintyBand(), "cameras inherit the global decision");
        assertEquals(3, top.decision().consensus());
        assertEquals(60, top.flagsPerHour(), "and storage.flagsPerHour");
        assertTrue(c.cameras().get(1).triggered());
        assertFalse(c.cameras().get(1).source().loop());
        assertEquals(2.5, c.cameras().get(1).source().fps());
        assertEquals(7L, c.cameras().get(2).source().seed());
        assertEquals("/usr/bin/ffmpeg", c.cameras().get(3).source().ffmpeg());
        assertEquals("plant/line7", c.mqtt().prefix());
        assertEquals(5000, c.mqtt().queueQuota());
        assertTrue(c.mqtt().inspections());
        assertEquals(30, c.mqtt().statusSeconds());
        assertEquals(new DeviceConfig.Storage("/var/lib/vigil", 4096, 14, 0.05, 60, 85), c.storage());
        assertEquals(new DeviceConfig.Web(8443, "127.0.0.1"), c.web());
        assertEquals(new DeviceConfig.Training("mobilenetv2-int8", 1, 25, "/var/cache/vigil", 100, 0.25, 300, false),
                c.training());
        assertNull(c.decision().defectThreshold(), "new keys take their defaults");
        assertEquals(30, c.changes().graceSeconds());
    }

    @Test
    void aMigratedDocumentReadsBackToTheSameConfiguration() {
        ConfigLoader.Loaded l = ConfigLoader.read(V1);
        ConfigLoader.Loaded again = ConfigLoader.read(ConfigLoader.toYaml(l.document()), "migrated");
        assertEquals(List.of(), again.migrations(), "already current");
        assertEquals(l.config(), again.config());
    }

    @Test
    void theServiceMigratesItsFileAfterABackup() throws Exception {
        Path file = tmp.resolve("vigil.yml");
        Files.copy(V1, file);
        ConfigStore store = ConfigStore.open(file, tmp.resolve("snapshots"));
        assertEquals(Files.readString(V1), Files.readString(tmp.resolve("vigil.yml.v1.bak")), "the backup");
        ConfigLoader.Loaded now = ConfigLoader.read(file);
        assertEquals(List.of(), now.migrations(), "the file is in the current format");
        assertEquals("cuda", now.config().inference().device());
        assertEquals(store.current().config(), now.config());
    }

    @Test
    void aNewerFileIsRefusedPlainly() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse("schemaVersion: "
                + (DeviceConfig.SCHEMA_VERSION + 1) + "\n", "new.yml"));
        assertTrue(e.getMessage().contains("is newer than this Vigil knows"), e.getMessage());
        assertTrue(e.getMessage().contains("upgrade Vigil"), e.getMessage());
    }
}
