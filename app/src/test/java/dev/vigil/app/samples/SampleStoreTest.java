package dev.vigil.app.samples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.decision.Verdict;
import dev.vigil.core.image.ColorOrder;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.model.DefectMap;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SampleStoreTest {
    @TempDir
    Path dir;

    @Test
    void storesImageSidecarAndIndexAndSurvivesReopening() throws Exception {
        byte[] jpeg = {(byte) 0xff, (byte) 0xd8, 1, 2, 3, (byte) 0xff, (byte) 0xd9};
        Sample s;
        try (SampleStore store = new SampleStore(dir, 1 << 20, 30)) {
            s = store.add("cam1", Instant.parse("2026-11-23T10:00:00Z"), jpeg, "defect", "m1", "defect", "crack", 0.93,
                    List.of("crack", "ok"), List.of(0.93, 0.07), "0001.jpg");
            assertTrue(SampleStore.ID.matcher(s.id()).matches());
            assertArrayEquals(jpeg, Files.readAllBytes(store.imageFile(s)));
            assertTrue(Files.exists(store.imageFile(s).resolveSibling(s.id() + ".json")));
        }
        try (SampleStore store = new SampleStore(dir, 1 << 20, 30)) {
            Sample back = store.get(s.id()).orElseThrow();
            assertEquals("crack", back.label());
            assertEquals(List.of(0.93, 0.07), back.probabilities());
            assertNull(back.assignedLabel());
            assertEquals(1, store.list(Boolean.FALSE, 10).size());
            assertEquals(0, store.list(Boolean.TRUE, 10).size());
        }
    }

    private static DefectMap map() {
        Preprocessing pre = new Preprocessing(64, 48, ColorOrder.RGB, 1f / 255f, new float[] {0.5f, 0.5f, 0.5f},
                new float[] {0.25f, 0.25f, 0.25f}, Preprocessing.Fit.LETTERBOX);
        float[] v = new float[48];
        v[2 * 8 + 5] = 0.9f;
        return new DefectMap(8, 6, v, DefectMap.Geometry.of(pre, 320, 120));
    }

    @Test
    void aDefectMapIsStoredBesideTheImageReadBackAndCountedInTheQuota() throws Exception {
        byte[] jpeg = new byte[500];
        Sample s;
        try (SampleStore store = new SampleStore(dir, 1 << 20, 30)) {
            s = store.add("cam1", Instant.parse("2026-11-23T10:00:00Z"), jpeg, "defect", "m1", "defect", "defective",
                    0.99, List.of("defective", "ok"), List.of(0.99, 0.01), "0001.png", map());
            Path png = store.imageFile(s).resolveSibling(s.id() + ".heatmap.png");
            assertTrue(Files.size(png) < 300, "the grid, not a picture: " + Files.size(png) + " bytes");
            assertEquals(500 + Files.size(png), s.bytes(), "the quota counts the heatmap too");
            assertEquals(new DefectMap.Region(200, 20, 40, 40), s.heatmap().region());
            assertEquals("samples/2026-11-23/" + s.id() + ".heatmap.png", s.heatmap().file());
            assertTrue(Files.readString(store.imageFile(s).resolveSibling(s.id() + ".json")).contains("\"heatmap\""),
                    "the sidecar says so too");
        }
        try (SampleStore store = new SampleStore(dir, 1 << 20, 30)) {
            Sample back = store.get(s.id()).orElseThrow();
            assertEquals(s.heatmap(), back.heatmap());
            DefectMap m = store.heatmap(back).orElseThrow();
            assertEquals(0.9f, m.score(5, 2), 1f / 255);
            assertEquals(new DefectMap.Region(200, 20, 40, 40), m.region());
            Sample plain = store.add("cam1", Instant.parse("2026-11-23T10:00:01Z"), jpeg, "audit", "m0", "ok", "ok",
                    0.9, null, null, null);
            assertNull(plain.heatmap());
            assertTrue(store.heatmap(plain).isEmpty());
        }
    }

    @Test
    void retentionAndQuotaRemoveTheHeatmapWithItsSample() throws Exception {
        Instant now = Instant.parse("2026-11-23T10:00:00Z");
        try (SampleStore store = new SampleStore(dir, 2500, 7)) {
            Sample expired = store.add("cam1", now.minus(Duration.ofDays(8)), new byte[100], "audit", "m1", "ok", "ok",
                    0.9, null, null, null, map());
            Sample oldest = store.add("cam1", now, new byte[1000], "defect", "m1", "defect", "defective", 0.9, null,
                    null, null, map());
            store.add("cam1", now.plusSeconds(1), new byte[1000], "defect", "m1", "defect", "defective", 0.9, null,
                    null, null, map());
            store.add("cam1", now.plusSeconds(2), new byte[1000], "defect", "m1", "defect", "defective", 0.9, null,
                    null, null, map());
            Path expiredMap = dir.resolve(expired.heatmap().file());
            Path oldestMap = dir.resolve(oldest.heatmap().file());
            assertTrue(Files.exists(expiredMap) && Files.exists(oldestMap));
            assertEquals(2, store.enforce(now.plusSeconds(10)));
            assertFalse(Files.exists(expiredMap), "retention removed the heatmap");
            assertFalse(Files.exists(oldestMap), "the quota removed the heatmap");
            assertFalse(Files.exists(store.imageFile(oldest)));
            assertTrue(store.totalBytes() <= 2500);
        }
    }

    @Test
    void anIndexFromBeforeHeatmapsOpensAndItsSamplesHaveNone() throws Exception {
        Files.createDirectories(dir.resolve("index"));
        try (Connection db = DriverManager.getConnection("jdbc:h2:file:" + dir.toAbsolutePath().resolve("index")
                .resolve("samples"), "vigil", ""); Statement st = db.createStatement()) {
            st.execute("CREATE TABLE samples (id VARCHAR(32) PRIMARY KEY, camera VARCHAR(64) NOT NULL,"
                    + " time TIMESTAMP WITH TIME ZONE NOT NULL, file VARCHAR(256) NOT NULL, bytes BIGINT NOT NULL,"
                    + " reason VARCHAR(16) NOT NULL, model_id VARCHAR(128), verdict VARCHAR(16) NOT NULL,"
                    + " label VARCHAR(128), confidence DOUBLE PRECISION, labels VARCHAR(8192),"
                    + " probabilities VARCHAR(8192), assigned_label VARCHAR(128), source VARCHAR(256))");
            st.execute("INSERT INTO samples VALUES ('s1764000000000-0000abcd', 'cam1', TIMESTAMP WITH TIME ZONE"
                    + " '2026-11-23 10:00:00+00', 'samples/2026-11-23/s1764000000000-0000abcd.jpg', 7, 'defect', 'm1',"
                    + " 'defect', 'crack', 0.9, '[]', '[]', NULL, NULL)");
        }
        try (SampleStore store = new SampleStore(dir, 1 << 20, 30)) {
            Sample old = store.get("s1764000000000-0000abcd").orElseThrow();
            assertNull(old.heatmap());
            assertTrue(store.heatmap(old).isEmpty());
            Sample fresh = store.add("cam1", Instant.parse("2026-11-23T11:00:00Z"), new byte[7], "defect", "m2",
                    "defect", "crack", 0.9, null, null, null, map());
            assertEquals(new DefectMap.Region(200, 20, 40, 40), store.get(fresh.id()).orElseThrow().heatmap().region());
        }
    }

    @Test
    void idsThatCouldEscapeTheFolderAreNotLookedUp() {
        try (SampleStore store = new SampleStore(dir, 1 << 20, 30)) {
            assertFalse(store.get("../../etc/passwd").isPresent());
            assertFalse(store.get("s0000000000000-0000000%").isPresent());
        }
    }

    @Test
    void quotaRemovesTheOldestAndRetentionTheExpired() throws Exception {
        Instant now = Instant.parse("2026-11-23T10:00:00Z");
        try (SampleStore store = new SampleStore(dir, 3000, 7)) {
            Sample old = store.add("cam1", now.minus(Duration.ofDays(8)), new byte[100], "audit", null, "ok", null, 0,
                    null, null, null);
            for (int i = 0; i < 5; i++) {
                store.add("cam1", now.plusSeconds(i), new byte[1000], "defect", null, "defect", null, 0, null, null, null);
            }
            int removed = store.enforce(now.plusSeconds(10));
            assertEquals(3, removed);
            assertFalse(store.get(old.id()).isPresent());
            assertFalse(Files.exists(store.imageFile(old)));
            assertTrue(store.totalBytes() <= 3000);
            assertEquals(3, store.count());
        }
    }

    @Test
    void flagPolicyFlagsDefectsAndUncertainAuditsOkAndCapsPerHour() {
        FlagPolicy p = new FlagPolicy(0.0, 3, 1);
        Instant t = Instant.parse("2026-11-23T10:00:00Z");
        assertEquals("defect", p.reason("c", Verdict.DEFECT, t));
        assertEquals("uncertain", p.reason("c", Verdict.UNCERTAIN, t));
        assertNull(p.reason("c", Verdict.OK, t));
        assertEquals("collect", p.reason("c", Verdict.UNCLASSIFIED, t));
        assertNull(p.reason("c", Verdict.DEFECT, t.plusSeconds(60)));
        assertEquals(1, p.capped());
        assertEquals("defect", p.reason("other", Verdict.DEFECT, t.plusSeconds(60)));
        assertEquals("defect", p.reason("c", Verdict.DEFECT, t.plus(Duration.ofMinutes(61))));
        FlagPolicy all = new FlagPolicy(1.0, 100, 1);
        assertEquals("audit", all.reason("c", Verdict.OK, t));
    }
}
