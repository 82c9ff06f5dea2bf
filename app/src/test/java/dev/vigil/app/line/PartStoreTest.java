package dev.vigil.app.line;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.vigil.app.mqtt.Region;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The traceability store on a real folder: appends, queries, retention, torn lines, many threads. */
class PartStoreTest {
    private static final Instant T0 = Instant.parse("2026-12-03T06:00:00Z");
    @TempDir
    Path tmp;
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    private PartStore store(Path dir, int retentionDays) {
        PartStore s = new PartStore(dir, () -> retentionDays);
        open.add(s);
        return s;
    }

    static PartRecord part(Instant time, String camera, long sequence, String lot, String verdict, String label) {
        boolean ok = verdict.equals("ok");
        return new PartRecord(time, camera, sequence, lot, "plc", verdict.equals("late") ? null : "m-1", verdict,
                ok ? "ok" : "ng", label, verdict.equals("late") ? null : ok ? 0.01 : 0.93,
                verdict.equals("defect") ? new Region(200, 20, 40, 40) : null,
                verdict.equals("defect") ? "ab".repeat(32) : null, verdict.equals("defect") ? "s1234567890123-0a1b2c3d"
                        : null, verdict.equals("late") ? "late" : null, 40 + sequence % 7);
    }

    private static List<Long> sequences(List<PartRecord> records) {
        return records.stream().map(PartRecord::sequence).toList();
    }

    @Test
    void aRecordComesBackAsItWasWrittenAndQueriesFilterByRangeLotAndCamera() {
        PartStore s = store(tmp.resolve("parts"), 0);
        PartRecord full = part(T0, "cam1", 1, "L-1", "defect", "scratch");
        s.record(full);
        for (int i = 2; i <= 12; i++) {
            s.record(part(T0.plusSeconds(60L * i), i % 3 == 0 ? "cam2" : "cam1", i, i <= 6 ? "L-1" : "L-2",
                    i % 4 == 0 ? "defect" : "ok", i % 4 == 0 ? "dent" : "ok"));
        }
        assertTrue(s.flush(Duration.ofSeconds(10)));
        List<PartRecord> all = s.query(PartStore.Query.all(T0, T0.plusSeconds(3600), null, null));
        assertEquals(12, all.size());
        assertEquals(full, all.get(0), "every field survives the line");
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L), sequences(all), "oldest first");

        // [from, to): a part at exactly `to` is not in, one at exactly `from` is
        assertEquals(List.of(3L, 4L), sequences(s.query(new PartStore.Query(T0.plusSeconds(180), T0.plusSeconds(300),
                null, null, 100, false))));
        assertEquals(List.of(12L, 11L, 10L), sequences(s.query(new PartStore.Query(T0, T0.plusSeconds(3600), null,
                null, 3, true))), "newest first, limit 3");
        assertEquals(List.of(1L, 2L, 4L, 5L), sequences(s.query(new PartStore.Query(T0, T0.plusSeconds(3600), "L-1",
                "cam1", 100, false))), "lot L-1 on cam1");
        assertEquals(List.of(12L, 9L), sequences(s.query(new PartStore.Query(T0, T0.plusSeconds(3600), "L-2", "cam2",
                100, true))));
        assertEquals(List.of(), s.query(PartStore.Query.all(T0, T0.plusSeconds(3600), "L-3", null)));
        assertEquals(List.of(), s.query(PartStore.Query.all(T0.minusSeconds(3600), T0, null, null)), "before");
        assertTrue(Files.isRegularFile(s.file(LocalDate.of(2026, 12, 3))), "parts-2026-12-03.jsonl");
    }

    /**
     * Records across three UTC days, more than a few 64 KiB blocks per file: newest first is exactly oldest first
     * reversed (lines cut by block boundaries included), and a range over a day boundary reads both files.
     */
    @Test
    void newestFirstIsOldestFirstReversedAcrossFilesAndBlocks() {
        PartStore s = store(tmp.resolve("parts"), 0);
        Instant start = Instant.parse("2026-12-01T20:00:00Z");
        int n = 3000; // every 60 s: 50 hours, three days, ~1000 lines of ~400 bytes per file
        for (int i = 0; i < n; i++) {
            s.record(part(start.plusSeconds(60L * i), "cam1", i, "L-" + (i / 500), i % 5 == 0 ? "defect" : "ok",
                    i % 5 == 0 ? "scratch" : "ok"));
        }
        assertTrue(s.flush(Duration.ofSeconds(20)));
        assertEquals(3, s.dayFiles().size());
        List<PartRecord> oldest = s.query(PartStore.Query.all(start, start.plusSeconds(60L * n), null, null));
        List<PartRecord> newest = s.query(new PartStore.Query(start, start.plusSeconds(60L * n), null, null,
                Integer.MAX_VALUE, true));
        assertEquals(n, oldest.size());
        List<PartRecord> reversed = new ArrayList<>(oldest);
        Collections.reverse(reversed);
        assertEquals(reversed, newest);
        Instant midnight = Instant.parse("2026-12-02T00:00:00Z");
        List<PartRecord> around = s.query(PartStore.Query.all(midnight.minusSeconds(120), midnight.plusSeconds(120),
                null, null));
        assertEquals(4, around.size(), "two on each side of midnight: " + sequences(around));
    }

    @Test
    void retentionDeletesTheDaysOlderThanRetentionAndZeroKeepsEverything() throws Exception {
        Path dir = tmp.resolve("parts");
        Files.createDirectories(dir);
        Instant now = Instant.parse("2026-12-03T10:00:00Z");
        for (int ago = 0; ago <= 40; ago += 10) {
            LocalDate day = LocalDate.ofInstant(now, ZoneOffset.UTC).minusDays(ago);
            Files.writeString(dir.resolve("parts-" + day + ".jsonl"), new String(PartJson.bytes(part(
                    day.atTime(12, 0).toInstant(ZoneOffset.UTC), "cam1", ago, null, "ok", "ok")),
                    StandardCharsets.UTF_8) + "\n");
        }
        Files.writeString(dir.resolve("notes.txt"), "not a day file");
        AtomicInteger retention = new AtomicInteger(0);
        PartStore s = new PartStore(dir, retention::get, Clock.fixed(now, ZoneOffset.UTC));
        open.add(s);
        assertEquals(List.of(), s.enforceRetention(), "0 keeps every file");
        assertEquals(5, s.dayFiles().size());

        retention.set(15); // a configuration change: the next run applies it
        List<Path> deleted = s.enforceRetention();
        assertEquals(Set.of("parts-2026-10-24.jsonl", "parts-2026-11-03.jsonl", "parts-2026-11-13.jsonl"),
                deleted.stream().map(p -> p.getFileName().toString()).collect(Collectors.toSet()));
        assertEquals(List.of(LocalDate.parse("2026-11-23"), LocalDate.parse("2026-12-03")),
                s.dayFiles().stream().map(PartStore.DayFile::day).toList());
        assertTrue(Files.exists(dir.resolve("notes.txt")), "other files are left alone");
        assertEquals(List.of(10L, 0L), sequences(s.query(PartStore.Query.all(now.minus(Duration.ofDays(60)),
                now.plus(Duration.ofDays(1)), null, null))));

        // the day that ends exactly at the cut-off goes; the one that ends after it stays
        retention.set(10);
        assertEquals(List.of(), s.enforceRetention(), "2026-11-23 ends on 2026-11-24 00:00, after 11-23 10:00");
        Files.writeString(dir.resolve("parts-2026-11-22.jsonl"), "");
        assertEquals(List.of(dir.resolve("parts-2026-11-22.jsonl")), s.enforceRetention());
    }

    @Test
    void theWriterRunsRetentionByItselfAtStartAndWhenTheSettingChanges() throws Exception {
        Path dir = tmp.resolve("parts");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("parts-2010-01-01.jsonl"), "");
        Files.writeString(dir.resolve("parts-2026-11-01.jsonl"), "");
        AtomicInteger retention = new AtomicInteger(3650);
        PartStore s = new PartStore(dir, retention::get, Clock.fixed(Instant.parse("2026-12-03T10:00:00Z"),
                ZoneOffset.UTC));
        open.add(s);
        dev.vigil.app.testing.Await.await(() -> !Files.exists(dir.resolve("parts-2010-01-01.jsonl")),
                Duration.ofSeconds(10), "retention at start");
        assertTrue(Files.exists(dir.resolve("parts-2026-11-01.jsonl")));
        retention.set(7);
        dev.vigil.app.testing.Await.await(() -> !Files.exists(dir.resolve("parts-2026-11-01.jsonl")),
                Duration.ofSeconds(10), "retention after the setting changed");
    }

    /**
     * A power cut mid-write: the file ends in half a line (and a damaged line sits in the middle). Queries skip both
     * and say so once in the log, not on every query; the next append cuts the torn tail off first, so the new record
     * is a line of its own.
     */
    @Test
    void aTornLastLineIsSkippedLoggedOnceAndCutOffBeforeTheNextAppend() throws Exception {
        Path dir = tmp.resolve("parts");
        Files.createDirectories(dir);
        Path file = dir.resolve("parts-2026-12-03.jsonl");
        String good1 = new String(PartJson.bytes(part(T0, "cam1", 1, "L-1", "ok", "ok")), StandardCharsets.UTF_8);
        String good2 = new String(PartJson.bytes(part(T0.plusSeconds(1), "cam1", 2, "L-1", "defect", "dent")),
                StandardCharsets.UTF_8);
        String torn = new String(PartJson.bytes(part(T0.plusSeconds(2), "cam1", 3, "L-1", "ok", "ok")),
                StandardCharsets.UTF_8).substring(0, 70);
        Files.writeString(file, good1 + "\n" + "\0\0\0\0{\"time\":\"2026-12-03T06:00:00.5Z\",\"camera\"\n" + good2
                + "\n" + torn);
        Logger logger = (Logger) LoggerFactory.getLogger(PartStore.class.getName());
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        log.start();
        logger.addAppender(log);
        try {
            PartStore s = store(dir, 0);
            PartStore.Query q = PartStore.Query.all(T0, T0.plusSeconds(3600), null, null);
            for (int i = 0; i < 3; i++) {
                assertEquals(List.of(1L, 2L), sequences(s.query(q)));
                assertEquals(List.of(2L, 1L), sequences(s.query(new PartStore.Query(T0, T0.plusSeconds(3600), null,
                        null, 10, true))));
            }
            List<String> messages = log.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
            assertEquals(1, messages.stream().filter(m -> m.contains("torn last record (70 bytes)")).count(),
                    messages.toString());
            assertEquals(1, messages.stream().filter(m -> m.contains("skipped 1 damaged line(s)")).count(),
                    messages.toString());

            s.record(part(T0.plusSeconds(5), "cam1", 4, "L-1", "ok", "ok"));
            assertTrue(s.flush(Duration.ofSeconds(10)));
            assertEquals(List.of(1L, 2L, 4L), sequences(s.query(q)));
            String text = Files.readString(file);
            assertTrue(text.endsWith("\n") && !text.contains(torn), "the torn tail was cut off: " + text);
            assertTrue(log.list.stream().anyMatch(e -> e.getFormattedMessage().contains("cut off a torn last record"
                    + " (70 bytes)")));
        } finally {
            logger.detachAppender(log);
        }
    }

    @Test
    void aFileWithoutASingleCompleteLineGivesNothingAndFailsNothing() throws Exception {
        Path dir = tmp.resolve("parts");
        Files.createDirectories(dir);
        Files.write(dir.resolve("parts-2026-12-03.jsonl"), new byte[5000]); // zeros: a power cut on some file systems
        PartStore s = store(dir, 0);
        assertEquals(List.of(), s.query(PartStore.Query.all(T0.minusSeconds(7200), T0.plusSeconds(7200), null,
                null)));
        assertEquals(List.of(), s.query(new PartStore.Query(T0.minusSeconds(7200), T0.plusSeconds(7200), null,
                null, 5, true)));
        s.record(part(T0, "cam1", 7, null, "ok", "ok"));
        assertTrue(s.flush(Duration.ofSeconds(10)));
        assertEquals(List.of(7L), sequences(s.query(PartStore.Query.all(T0, T0.plusSeconds(1), null, null))));
        assertEquals(1, Files.readAllLines(dir.resolve("parts-2026-12-03.jsonl")).size());
    }

    @Test
    void concurrentAppendsFromSeveralThreadsAreAllThereEachOnItsOwnLine() throws Exception {
        PartStore s = store(tmp.resolve("parts"), 0);
        int threads = 8;
        int each = 250;
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> started = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            String camera = "cam" + t;
            Thread th = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < each; i++) {
                    s.record(part(T0.plusMillis(i), camera, i, "L-" + camera, i % 10 == 0 ? "defect" : "ok",
                            i % 10 == 0 ? "scratch" : "ok"));
                }
            });
            th.start();
            started.add(th);
        }
        go.countDown();
        for (Thread th : started) {
            th.join();
        }
        // a query waits for what was recorded before it
        List<PartRecord> all = s.query(PartStore.Query.all(T0, T0.plusSeconds(10), null, null));
        assertEquals(threads * each, all.size());
        Set<String> keys = new HashSet<>();
        all.forEach(p -> keys.add(p.camera() + "/" + p.sequence()));
        assertEquals(threads * each, keys.size(), "every record exactly once");
        for (int t = 0; t < threads; t++) {
            String camera = "cam" + t;
            assertEquals(each, s.query(PartStore.Query.all(T0, T0.plusSeconds(10), "L-" + camera, camera)).size());
        }
        assertEquals(threads * each, Files.readAllLines(s.file(LocalDate.of(2026, 12, 3))).size());
        assertEquals(threads * each, s.written());
        assertEquals(0, s.dropped());
    }

    /** What one record costs the inspection loop (printed, not asserted: machines differ), and until it is durable. */
    @Test
    void recordCostsTheCallerAQueueOfferAndTheDiskABatchedForce() {
        PartStore s = store(tmp.resolve("parts"), 0);
        PartRecord p = part(T0, "cam1", 1, "L-1", "defect", "scratch");
        for (int i = 0; i < 2000; i++) { // warm-up
            s.record(p);
        }
        assertTrue(s.flush(Duration.ofSeconds(20)));
        int n = 10_000;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            s.record(p);
        }
        long callerNanos = System.nanoTime() - t0;
        assertTrue(s.flush(Duration.ofSeconds(30)));
        long durableNanos = System.nanoTime() - t0;
        // one at a time, as a line at 10 parts/s records them: each one written and forced before the next
        int single = 20;
        long t1 = System.nanoTime();
        for (int i = 0; i < single; i++) {
            s.record(p);
            s.flush(Duration.ofSeconds(10));
        }
        long singleNanos = (System.nanoTime() - t1) / single;
        // and reading them back (what a report costs per part)
        s.query(PartStore.Query.all(T0, T0.plusSeconds(1), null, null)); // warm-up
        long t2 = System.nanoTime();
        int read = s.query(PartStore.Query.all(T0, T0.plusSeconds(1), null, null)).size();
        long readNanos = System.nanoTime() - t2;
        System.out.printf("PartStore: record() %.2f us per record on the caller's thread (%d records); all durable"
                + " after %.1f ms; one record alone to disk (write + fdatasync) %.2f ms; %d bytes per line; reading"
                + " back %.2f us per record (%d)%n", callerNanos / 1000.0 / n, n, durableNanos / 1e6,
                singleNanos / 1e6, PartJson.bytes(p).length + 1, readNanos / 1000.0 / read, read);
        assertEquals(2000 + n + single, s.written());
    }

    @Test
    void aRecordAfterCloseIsCountedAsDroppedAndCloseWritesWhatWasQueued() throws Exception {
        Path dir = tmp.resolve("parts");
        PartStore s = new PartStore(dir, () -> 0);
        for (int i = 0; i < 100; i++) {
            s.record(part(T0.plusSeconds(i), "cam1", i, null, "ok", "ok"));
        }
        s.close();
        assertEquals(100, Files.readAllLines(s.file(LocalDate.of(2026, 12, 3))).size(), "written before close ended");
        s.record(part(T0, "cam1", 999, null, "ok", "ok"));
        assertEquals(1, s.dropped());
        s.close(); // twice is fine
        PartStore again = store(dir, 0);
        assertEquals(100, again.query(PartStore.Query.all(T0, T0.plusSeconds(1000), null, null)).size());
        assertFalse(again.query(PartStore.Query.all(T0, T0.plusSeconds(1000), null, null)).stream()
                .anyMatch(r -> r.sequence() == 999));
    }
}
