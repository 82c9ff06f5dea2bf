package dev.vigil.app.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The write-ahead journal on its own: recovery, torn writes, the acknowledgement pointer, compaction, locking. */
class AlertJournalTest {
    @TempDir
    Path dir;

    private static List<AlertJournal.Message> messages(int from, int to) {
        return IntStream.range(from, to).mapToObj(i -> new AlertJournal.Message("vigil/line1/cam1/alert",
                ("{\"id\":\"a" + i + "\"}").getBytes(StandardCharsets.UTF_8))).toList();
    }

    private static List<String> payloads(List<AlertJournal.Entry> entries) {
        return entries.stream().map(e -> new String(e.payload(), StandardCharsets.UTF_8)).toList();
    }

    @Test
    void whatWasAppendedComesBackInOrderUntilAcknowledged() {
        try (AlertJournal j = AlertJournal.open(dir)) {
            List<AlertJournal.Entry> written = j.append(messages(0, 5));
            assertEquals(List.of(1L, 2L, 3L, 4L, 5L), written.stream().map(AlertJournal.Entry::seq).toList());
        }
        try (AlertJournal j = AlertJournal.open(dir)) {
            assertEquals(payloads(List.of()).size(), 0);
            assertEquals(List.of("{\"id\":\"a0\"}", "{\"id\":\"a1\"}", "{\"id\":\"a2\"}", "{\"id\":\"a3\"}",
                    "{\"id\":\"a4\"}"), payloads(j.recovered()));
            assertEquals("vigil/line1/cam1/alert", j.recovered().get(0).topic());
            j.acknowledge(3, j.recovered().get(3).start());
        }
        try (AlertJournal j = AlertJournal.open(dir)) {
            assertEquals(List.of(4L, 5L), j.recovered().stream().map(AlertJournal.Entry::seq).toList());
            assertEquals(6, j.nextSeq());
        }
    }

    @Test
    void aFullyAcknowledgedJournalIsEmptiedAndNumberingGoesOn() throws IOException {
        try (AlertJournal j = AlertJournal.open(dir)) {
            j.append(messages(0, 3));
            j.acknowledge(3, j.end());
            assertEquals(0, Files.size(dir.resolve(AlertJournal.LOG)));
        }
        try (AlertJournal j = AlertJournal.open(dir)) {
            assertTrue(j.recovered().isEmpty());
            assertEquals(4, j.append(messages(3, 4)).get(0).seq());
        }
    }

    @Test
    void aRecordTornByACrashIsCutOff() throws IOException {
        try (AlertJournal j = AlertJournal.open(dir)) {
            j.append(messages(0, 3));
        }
        Path log = dir.resolve(AlertJournal.LOG);
        long good = Files.size(log);
        byte[] torn = AlertJournal.line(4, "vigil/line1/cam1/alert", "{\"id\":\"a3\"}".getBytes());
        Files.write(log, java.util.Arrays.copyOf(torn, torn.length - 5), StandardOpenOption.APPEND);
        try (AlertJournal j = AlertJournal.open(dir)) {
            assertEquals(3, j.recovered().size());
            assertEquals(good, Files.size(log));
            assertEquals(4, j.append(messages(3, 4)).get(0).seq());
        }
        try (AlertJournal j = AlertJournal.open(dir)) {
            assertEquals(List.of("{\"id\":\"a0\"}", "{\"id\":\"a1\"}", "{\"id\":\"a2\"}", "{\"id\":\"a3\"}"),
                    payloads(j.recovered()));
        }
    }

    @Test
    void aDamagedLastRecordIsCutOffAndADamagedMiddleOneSkipped() throws IOException {
        try (AlertJournal j = AlertJournal.open(dir)) {
            j.append(messages(0, 4));
        }
        Path log = dir.resolve(AlertJournal.LOG);
        String text = Files.readString(log);
        // flip a payload character of the second and of the last record: their CRCs no longer match
        List<String> lines = new ArrayList<>(text.lines().toList());
        lines.set(1, lines.get(1).replace("a1", "b1"));
        lines.set(3, lines.get(3).replace("a3", "b3"));
        Files.writeString(log, String.join("\n", lines) + "\n");
        try (AlertJournal j = AlertJournal.open(dir)) {
            assertEquals(List.of("{\"id\":\"a0\"}", "{\"id\":\"a2\"}"), payloads(j.recovered()));
        }
    }

    @Test
    void aLongAcknowledgedPrefixIsCompactedAway() throws IOException {
        byte[] big = ("{\"id\":\"" + "x".repeat(2000) + "\"}").getBytes(StandardCharsets.UTF_8);
        List<AlertJournal.Message> many = IntStream.range(0, 700)
                .mapToObj(i -> new AlertJournal.Message("vigil/line1/cam1/alert", big)).toList();
        try (AlertJournal j = AlertJournal.open(dir)) {
            List<AlertJournal.Entry> written = j.append(many);
            assertTrue(Files.size(dir.resolve(AlertJournal.LOG)) > AlertJournal.COMPACT_BYTES);
            j.acknowledge(690, written.get(690).start());
            assertTrue(Files.size(dir.resolve(AlertJournal.LOG)) < 11 * 2100, "compacted to the 10 waiting");
            List<AlertJournal.Entry> more = j.append(messages(0, 1));
            assertEquals(701, more.get(0).seq());
        }
        try (AlertJournal j = AlertJournal.open(dir)) {
            assertEquals(11, j.recovered().size());
            assertEquals(691, j.recovered().get(0).seq());
            assertEquals("{\"id\":\"a0\"}", new String(j.recovered().get(10).payload(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void aJournalIsUsedByOneLinkAtATime() {
        try (AlertJournal j = AlertJournal.open(dir)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> AlertJournal.open(dir));
            assertTrue(e.getMessage().contains("in use") && e.getMessage().contains(dir.toString()),
                    e.getMessage());
        }
        AlertJournal.open(dir).close(); // free again
    }

    @Test
    void anUnreadablePointerMeansSendingAgainNotLosing() throws IOException {
        try (AlertJournal j = AlertJournal.open(dir)) {
            j.append(messages(0, 2));
        }
        Files.writeString(dir.resolve(AlertJournal.ACK), "garbage");
        try (AlertJournal j = AlertJournal.open(dir)) {
            assertEquals(2, j.recovered().size());
        }
    }
}
