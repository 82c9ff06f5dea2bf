package dev.vigil.app.samples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.decision.Verdict;
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
