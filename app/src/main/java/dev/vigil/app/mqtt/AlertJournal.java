package dev.vigil.app.mqtt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * The write-ahead journal that keeps alerts on disk until the broker has acknowledged them (PUBACK), so that they
 * survive a broker outage, a crash and a restart of the service.
 *
 * <p>Files in the journal folder:
 * <ul>
 *   <li>{@value #LOG}: append-only, one record per line, {@code <seq> TAB <crc32> TAB <topic> TAB <payload>}; each
 *       batch is written and forced to disk ({@code fsync}) before any of it is sent. The CRC covers
 *       {@code <seq> TAB <topic> TAB <payload>}, so a record torn by a crash is recognised and cut off.</li>
 *   <li>{@value #ACK}: the highest sequence number up to which every alert has been acknowledged; replaced
 *       atomically (temporary file, force, rename). Losing an update only means a few alerts are sent again,
 *       never that one is lost.</li>
 *   <li>{@value #LOCK}: an OS file lock, so that two processes never share a journal.</li>
 * </ul>
 * When every record is acknowledged the log is truncated; when the acknowledged prefix grows past
 * {@link #COMPACT_BYTES} while alerts are still waiting, the waiting tail is copied to a new log (force, rename).
 *
 * <p>Not thread-safe: one thread (the {@link AlertOutbox} worker) uses it.
 */
final class AlertJournal implements AutoCloseable {
    static final String LOG = "alerts.log";
    static final String ACK = "alerts.ack";
    static final String LOCK = "alerts.lock";
    static final long COMPACT_BYTES = 1 << 20;
    private static final System.Logger LOGGER = System.getLogger(AlertJournal.class.getName());

    /** An alert to journal. */
    record Message(String topic, byte[] payload) {}

    /**
     * A journaled alert.
     *
     * @param start logical offset of its first byte (offsets keep counting across compactions)
     * @param durable false when it could not be written (disk full, I/O error): it is delivered from memory only
     */
    record Entry(long seq, String topic, byte[] payload, long start, long end, boolean durable) {}

    private final Path dir;
    private final Path log;
    private final Path ack;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final List<Entry> recovered;
    private FileChannel out;
    /** Logical offset of physical byte 0 of {@link #LOG}. */
    private long base;
    /** Logical offset of the end of {@link #LOG}. */
    private long end;
    private long ackedSeq;
    private long nextSeq;
    private boolean writeFailing;

    private AlertJournal(Path dir, FileChannel lockChannel, FileLock lock) throws IOException {
        this.dir = dir;
        this.log = dir.resolve(LOG);
        this.ack = dir.resolve(ACK);
        this.lockChannel = lockChannel;
        this.lock = lock;
        Files.deleteIfExists(dir.resolve(LOG + ".tmp"));
        Files.deleteIfExists(dir.resolve(ACK + ".tmp"));
        this.ackedSeq = readAck();
        this.recovered = recover();
        this.nextSeq = Math.max(ackedSeq, recovered.isEmpty() ? 0 : recovered.get(recovered.size() - 1).seq()) + 1;
        this.out = FileChannel.open(log, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        this.out.position(out.size());
        // Drop the acknowledged prefix now, while nothing else is going on.
        compact(recovered.isEmpty() ? end : recovered.get(0).start(), true);
    }

    /**
     * Opens (creating it if needed) the journal in {@code dir} and reads back the alerts still waiting.
     *
     * @throws UncheckedIOException when the folder cannot be created or read (the message names it)
     * @throws IllegalStateException when another process holds the journal
     */
    static AlertJournal open(Path dir) {
        FileChannel lockChannel = null;
        try {
            Files.createDirectories(dir);
            lockChannel = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new IllegalStateException("alert journal " + dir + " is in use by another MQTT link (lock "
                        + dir.resolve(LOCK) + "); stop the other Vigil service or give this one its own"
                        + " storage.dir");
            }
            return new AlertJournal(dir, lockChannel, lock);
        } catch (IOException e) {
            closeQuietly(lockChannel);
            throw new UncheckedIOException("cannot open the alert journal in " + dir + ": " + e
                    + "; make the folder writable for the vigil user (it is storage.dir/mqtt)", e);
        } catch (RuntimeException e) {
            closeQuietly(lockChannel);
            throw e;
        }
    }

    /** The folder of the journal. */
    Path dir() {
        return dir;
    }

    /** The alerts found waiting when the journal was opened, oldest first. */
    List<Entry> recovered() {
        return recovered;
    }

    /** The highest sequence number up to which everything is acknowledged. */
    long ackedSeq() {
        return ackedSeq;
    }

    /** The sequence number the next appended alert gets. */
    long nextSeq() {
        return nextSeq;
    }

    /** Logical offset of the end of the log (where the next record goes). */
    long end() {
        return end;
    }

    /**
     * Appends alerts and forces them to disk. Never throws for I/O: when the disk refuses, the alerts are returned
     * as not {@link Entry#durable() durable} (still delivered from memory) and the failure is logged once until
     * writing works again.
     */
    List<Entry> append(List<Message> messages) {
        List<Entry> entries = new ArrayList<>(messages.size());
        List<byte[]> lines = new ArrayList<>(messages.size());
        long offset = end;
        for (Message m : messages) {
            long seq = nextSeq++;
            byte[] line = line(seq, m.topic(), m.payload());
            lines.add(line);
            entries.add(new Entry(seq, m.topic(), m.payload(), offset, offset + line.length, true));
            offset += line.length;
        }
        ByteBuffer buffer = ByteBuffer.allocate((int) (offset - end));
        lines.forEach(buffer::put);
        buffer.flip();
        try {
            while (buffer.hasRemaining()) {
                out.write(buffer);
            }
            out.force(false);
            end = offset;
            if (writeFailing) {
                writeFailing = false;
                LOGGER.log(System.Logger.Level.INFO, "alert journal {0} is writable again", log);
            }
            return entries;
        } catch (IOException e) {
            try {
                out.truncate(end - base);
                out.position(end - base);
            } catch (IOException ignored) {
                // the next successful append or the next start cuts a torn tail off anyway
            }
            if (!writeFailing) {
                writeFailing = true;
                LOGGER.log(System.Logger.Level.ERROR, "cannot write alerts to the journal " + log + ": " + e
                        + "; they are kept in memory only (lost if the service stops before the broker takes"
                        + " them). Free disk space or fix the permissions of " + dir);
            }
            List<Entry> volatileEntries = new ArrayList<>(entries.size());
            for (Entry x : entries) {
                volatileEntries.add(new Entry(x.seq(), x.topic(), x.payload(), end, end, false));
            }
            return volatileEntries;
        }
    }

    /**
     * Records that every alert up to {@code seq} is acknowledged, and drops what no longer needs keeping.
     *
     * @param keepFrom logical offset of the first record still waiting ({@link #end()} when none is)
     */
    void acknowledge(long seq, long keepFrom) {
        if (seq <= ackedSeq) {
            return;
        }
        try {
            Path tmp = dir.resolve(ACK + ".tmp");
            try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                c.write(ByteBuffer.wrap((seq + "\n").getBytes(StandardCharsets.US_ASCII)));
                c.force(false);
            }
            move(tmp, ack);
            ackedSeq = seq;
        } catch (IOException e) {
            LOGGER.log(System.Logger.Level.WARNING, "cannot update the acknowledgement pointer " + ack + ": " + e
                    + "; after a restart some alerts may be sent twice (consumers de-duplicate on the alert id)");
            return;
        }
        compact(keepFrom, false);
    }

    @Override
    public void close() {
        closeQuietly(out);
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        closeQuietly(lockChannel);
    }

    /** Rewrites the log without the acknowledged prefix when that is worth it (or always, when {@code force}). */
    private void compact(long keepFrom, boolean force) {
        long dead = keepFrom - base;
        if (dead <= 0 || !(force || keepFrom == end || dead >= COMPACT_BYTES)) {
            return;
        }
        try {
            if (keepFrom == end) {
                out.truncate(0);
                out.position(0);
                out.force(true);
            } else {
                Path tmp = dir.resolve(LOG + ".tmp");
                try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
                    long from = dead;
                    long size = out.size();
                    while (from < size) {
                        from += out.transferTo(from, size - from, c);
                    }
                    c.force(true);
                }
                FileChannel old = out;
                move(tmp, log);
                closeQuietly(old);
                out = FileChannel.open(log, StandardOpenOption.READ, StandardOpenOption.WRITE);
                out.position(out.size());
            }
            base = keepFrom;
        } catch (IOException e) {
            LOGGER.log(System.Logger.Level.WARNING, "cannot compact the alert journal " + log + ": " + e
                    + "; it keeps growing until the next try (free disk space in " + dir + ")");
            try {
                closeQuietly(out);
                out = FileChannel.open(log, StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE);
                out.position(out.size());
            } catch (IOException again) {
                throw new UncheckedIOException("alert journal " + log + " is no longer writable: " + again, again);
            }
        }
    }

    private long readAck() throws IOException {
        if (!Files.exists(ack)) {
            return 0;
        }
        String text = Files.readString(ack, StandardCharsets.US_ASCII).trim();
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            LOGGER.log(System.Logger.Level.WARNING, "alert journal pointer " + ack + " holds '" + text
                    + "', not a sequence number; sending every journaled alert again (consumers de-duplicate on"
                    + " the alert id)");
            return 0;
        }
    }

    /** Reads the log back: records after the acknowledgement pointer, oldest first; cuts off a torn tail. */
    private List<Entry> recover() throws IOException {
        List<Entry> waiting = new ArrayList<>();
        if (!Files.exists(log)) {
            return waiting;
        }
        byte[] all = Files.readAllBytes(log);
        int pos = 0;
        long lastSeq = 0;
        int skipped = 0;
        while (pos < all.length) {
            int nl = indexOf(all, (byte) '\n', pos, all.length);
            if (nl < 0) {
                break; // torn tail: no newline
            }
            Entry e = parse(all, pos, nl);
            if (e == null || e.seq() <= lastSeq) {
                if (indexOf(all, (byte) '\n', nl + 1, all.length) < 0) {
                    break; // the last record is damaged: a torn write, cut it off below
                }
                skipped++;
                LOGGER.log(System.Logger.Level.ERROR, "alert journal " + log + ": damaged record at byte " + pos
                        + " skipped (its alert is lost; check the storage device)");
            } else {
                lastSeq = e.seq();
                if (e.seq() > ackedSeq) {
                    waiting.add(e);
                }
            }
            pos = nl + 1;
        }
        if (pos < all.length) {
            LOGGER.log(System.Logger.Level.WARNING, "alert journal {0}: cut off {1} bytes of a record torn by a"
                    + " crash while it was being written (that alert was never sent)", log, all.length - pos);
            try (FileChannel c = FileChannel.open(log, StandardOpenOption.WRITE)) {
                c.truncate(pos);
                c.force(true);
            }
        }
        end = pos;
        if (!waiting.isEmpty() || skipped > 0) {
            LOGGER.log(System.Logger.Level.INFO, "alert journal {0}: {1} alerts waiting from before the restart",
                    log, waiting.size());
        }
        return waiting;
    }

    private static Entry parse(byte[] all, int from, int nl) {
        int t1 = indexOf(all, (byte) '\t', from, nl);
        int t2 = t1 < 0 ? -1 : indexOf(all, (byte) '\t', t1 + 1, nl);
        int t3 = t2 < 0 ? -1 : indexOf(all, (byte) '\t', t2 + 1, nl);
        if (t3 < 0) {
            return null;
        }
        try {
            long seq = Long.parseLong(new String(all, from, t1 - from, StandardCharsets.US_ASCII));
            long crc = Long.parseLong(new String(all, t1 + 1, t2 - t1 - 1, StandardCharsets.US_ASCII), 16);
            CRC32 check = new CRC32();
            check.update(all, from, t1 - from + 1);
            check.update(all, t2 + 1, nl - t2 - 1);
            if (check.getValue() != crc) {
                return null;
            }
            String topic = new String(all, t2 + 1, t3 - t2 - 1, StandardCharsets.UTF_8);
            byte[] payload = java.util.Arrays.copyOfRange(all, t3 + 1, nl);
            return new Entry(seq, topic, payload, from, nl + 1, true);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    static byte[] line(long seq, String topic, byte[] payload) {
        if (topic.indexOf('\t') >= 0 || topic.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("topic '" + topic + "' holds a tab or newline");
        }
        for (byte b : payload) {
            if (b == '\n') {
                throw new IllegalArgumentException("alert payload for " + topic + " spans several lines; payloads"
                        + " are written by Payloads.toJson (one line)");
            }
        }
        byte[] head = (seq + "\t").getBytes(StandardCharsets.US_ASCII);
        byte[] body = (topic + "\t").getBytes(StandardCharsets.UTF_8);
        CRC32 crc = new CRC32();
        crc.update(head);
        crc.update(body);
        crc.update(payload);
        byte[] crcText = String.format("%08x\t", crc.getValue()).getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(head.length + crcText.length + body.length + payload.length + 1);
        b.put(head).put(crcText).put(body).put(payload).put((byte) '\n');
        return b.array();
    }

    private static int indexOf(byte[] a, byte b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (a[i] == b) {
                return i;
            }
        }
        return -1;
    }

    /** The already forced file {@code from} renamed over {@code to}, the rename itself made durable. */
    private void move(Path from, Path to) throws IOException {
        dev.vigil.core.AtomicFiles.move(from, to);
        dev.vigil.core.AtomicFiles.forceFolder(dir);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // nothing useful to do while closing
            }
        }
    }
}
