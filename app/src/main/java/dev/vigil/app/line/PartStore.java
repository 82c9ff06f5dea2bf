package dev.vigil.app.line;

import dev.vigil.core.AtomicFiles;
import dev.vigil.core.VigilException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;

/**
 * The traceability store: every {@link PartRecord}, kept on the device in {@code <storage.dir>/parts/}, one JSON-lines
 * file per UTC day ({@code parts-YYYY-MM-DD.jsonl}, a record in the file of its {@code time}'s day; the line is
 * {@link PartJson}'s).
 *
 * <p><b>Writing.</b> {@link #record} costs the caller a queue offer (microseconds; it never touches the disk, so the
 * inspection loop never waits for it). One writer thread ({@code vigil-parts}) takes whatever is queued, appends it
 * and forces it to disk ({@code fdatasync}) as one batch: a record is durable within milliseconds, and a crash or a
 * power cut loses at most the batch being written. A batch a crash interrupted leaves at most one torn last line;
 * readers skip it, and the writer cuts it off before it appends to that file again (so a new record never joins a
 * torn one). A new day's file has its folder forced too. At most {@value #QUEUE} records wait; beyond that (a disk
 * that stopped taking writes) records are dropped, counted in {@link #dropped()} and logged once per episode,
 * never blocking the caller.
 *
 * <p><b>Retention.</b> A day's file is deleted once all of its day is older than {@code parts.retentionDays} (0 =
 * keep every file), at start, every hour, and as soon as the setting changes (read from a supplier, so a
 * configuration change applies without a restart).
 *
 * <p><b>Reading.</b> {@link #open(Query)} streams the records of a time range {@code [from, to)}, optionally of one
 * lot and one camera, oldest or newest first, at most {@code limit}: only the days the range covers are opened, each
 * read in 64 KiB blocks (backwards for newest first), and a line outside the range is skipped by its leading time
 * without being parsed. A torn last line and damaged lines are skipped and logged once per file; they never fail a
 * query. Records are in the order they were written, which is their time's order to within the milliseconds between
 * a part's report and its write. Thread-safe: any number of readers, any number of threads recording.
 */
public final class PartStore implements PartLog, AutoCloseable {
    /** Records that may wait for the disk. */
    public static final int QUEUE = 100_000;
    /** Records written per batch at most (one write and one force each). */
    static final int BATCH = 1000;
    private static final System.Logger LOG = System.getLogger(PartStore.class.getName());
    private static final String PREFIX = "parts-";
    private static final String SUFFIX = ".jsonl";
    private static final Duration RETENTION_EVERY = Duration.ofHours(1);

    private final Path dir;
    private final IntSupplier retentionDays;
    private final Clock clock;
    private final BlockingQueue<PartRecord> queue = new ArrayBlockingQueue<>(QUEUE);
    private final Thread writer;
    /** Per file name: the bytes known to hold complete, forced lines (readers read no further). */
    private final Map<String, Long> complete = new ConcurrentHashMap<>();
    /** File damage already logged ({@code name:kind}). */
    private final Set<String> reported = ConcurrentHashMap.newKeySet();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final Object progress = new Object();
    /** Records taken care of (written or dropped): {@link #flush} waits for it to reach {@link #accepted}. */
    private long handled;
    private volatile boolean closing;
    private volatile boolean overflowing;
    // writer thread only
    private LocalDate openDay;
    private FileChannel out;
    private long outSize;
    private boolean writeFailing;
    private Instant lastRetention;
    private int lastRetentionDays = Integer.MIN_VALUE;

    /** Which records a query wants: {@code [from, to)}, {@code lot} and {@code camera} when not null. */
    public record Query(Instant from, Instant to, String lot, String camera, int limit, boolean newestFirst) {
        public Query {
            if (from == null || to == null) {
                throw new IllegalArgumentException("a part query needs from and to");
            }
            if (limit < 0) {
                throw new IllegalArgumentException("limit must not be negative, found " + limit);
            }
        }

        /** Every record of {@code [from, to)}, oldest first (a report). */
        public static Query all(Instant from, Instant to, String lot, String camera) {
            return new Query(from, to, lot, camera, Integer.MAX_VALUE, false);
        }
    }

    /**
     * Opens (creating if needed) the store in {@code dir} and starts its writer, which first deletes the files
     * retention no longer keeps.
     *
     * @param retentionDays {@code parts.retentionDays}, read again for every retention run (0 = keep)
     * @throws VigilException when the folder cannot be created
     */
    public PartStore(Path dir, IntSupplier retentionDays) {
        this(dir, retentionDays, Clock.systemUTC());
    }

    /** As {@link #PartStore(Path, IntSupplier)}, with the clock that says what "now" is for retention (tests). */
    public PartStore(Path dir, IntSupplier retentionDays, Clock clock) {
        this.dir = dir;
        this.retentionDays = retentionDays;
        this.clock = clock;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new VigilException("part records: the folder " + dir + " cannot be created (" + e + "); check that"
                    + " storage.dir exists and the vigil user may write to it", e);
        }
        this.writer = new Thread(this::run, "vigil-parts");
        writer.setDaemon(true);
        writer.start();
    }

    /** The folder of the day files. */
    public Path dir() {
        return dir;
    }

    /** The file of one UTC day. */
    public Path file(LocalDate day) {
        return dir.resolve(PREFIX + day + SUFFIX);
    }

    /**
     * Queues {@code part} for the disk and returns at once (any thread). Dropped and counted only when
     * {@value #QUEUE} records are already waiting or the store is closed.
     */
    @Override
    public void record(PartRecord part) {
        if (part == null) {
            return;
        }
        accepted.incrementAndGet(); // before the offer: flush() relies on it
        if (closing) {
            dropped.incrementAndGet();
            done(1);
            LOG.log(System.Logger.Level.WARNING, "part records: a part of {0} was reported after the store was"
                    + " closed (the service is stopping); it is not kept", part.camera());
        } else if (!queue.offer(part)) {
            dropped.incrementAndGet();
            done(1);
            if (!overflowing) {
                overflowing = true;
                LOG.log(System.Logger.Level.ERROR, "part records: " + QUEUE + " records are waiting for the disk,"
                        + " so new ones are dropped (" + dropped.get() + " lost so far); check the free space and the"
                        + " permissions of " + dir);
            }
        }
    }

    /**
     * Waits until every record accepted before this call is on disk (or dropped), at most {@code timeout}.
     *
     * @return whether it got there in time
     */
    public boolean flush(Duration timeout) {
        long target = accepted.get();
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (progress) {
            while (handled < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !writer.isAlive() && queue.isEmpty() && handled < target) {
                    return handled >= target;
                }
                try {
                    progress.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return true;
    }

    /** Records written to disk since start. */
    public long written() {
        return written.get();
    }

    /** Records lost since start: a full queue, a disk that refused the write, a record after close. */
    public long dropped() {
        return dropped.get();
    }

    // ---- writing (the writer thread) ------------------------------------------------------------------------------

    private void run() {
        enforceRetentionNow();
        List<PartRecord> batch = new ArrayList<>(BATCH);
        while (true) {
            PartRecord first;
            try {
                first = queue.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                first = null;
                Thread.interrupted(); // close() does not interrupt; keep going until the queue is empty
            }
            if (first == null) {
                if (closing && queue.isEmpty()) {
                    break;
                }
                retentionIfDue();
                continue;
            }
            batch.add(first);
            queue.drainTo(batch, BATCH - 1);
            try {
                write(batch);
            } catch (RuntimeException e) { // a bug, not the disk: keep the writer alive for the next records
                dropped.addAndGet(batch.size());
                done(batch.size());
                LOG.log(System.Logger.Level.ERROR, "part records: a batch of " + batch.size() + " could not be"
                        + " written: " + e, e);
            }
            batch.clear();
            retentionIfDue();
        }
        synchronized (this) {
            closeOut();
        }
    }

    /** Appends a batch, day by day, each day's part written and forced once. */
    private void write(List<PartRecord> batch) {
        Map<LocalDate, ByteArrayOutputStream> days = new LinkedHashMap<>();
        Map<LocalDate, Integer> counts = new LinkedHashMap<>();
        for (PartRecord p : batch) {
            LocalDate day = LocalDate.ofInstant(p.time(), ZoneOffset.UTC);
            ByteArrayOutputStream b = days.computeIfAbsent(day, d -> new ByteArrayOutputStream(batch.size() * 320));
            byte[] line = PartJson.bytes(p);
            b.write(line, 0, line.length);
            b.write('\n');
            counts.merge(day, 1, Integer::sum);
        }
        for (var e : days.entrySet()) {
            int n = counts.get(e.getKey());
            try {
                synchronized (this) { // against a retention run from another thread closing the file
                    append(e.getKey(), e.getValue().toByteArray());
                }
                written.addAndGet(n);
                if (writeFailing) {
                    writeFailing = false;
                    LOG.log(System.Logger.Level.INFO, "part records: writing to {0} again", dir);
                }
            } catch (IOException ex) {
                synchronized (this) {
                    abandonOut();
                }
                dropped.addAndGet(n);
                if (!writeFailing) {
                    writeFailing = true;
                    LOG.log(System.Logger.Level.ERROR, "part records: cannot write " + file(e.getKey()) + " (" + ex
                            + "); these records are lost until it can (" + dropped.get() + " so far). Check the free"
                            + " space and the permissions of " + dir);
                }
            }
        }
        done(batch.size());
    }

    private void append(LocalDate day, byte[] bytes) throws IOException {
        if (out == null || !day.equals(openDay)) {
            openDay(day);
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        long at = outSize;
        while (buf.hasRemaining()) {
            at += out.write(buf, at);
        }
        out.force(false);
        outSize = at;
        complete.put(file(day).getFileName().toString(), outSize);
    }

    /** Opens a day's file for appending, cutting off a torn last line a crash left. */
    private void openDay(LocalDate day) throws IOException {
        closeOut();
        Path f = file(day);
        boolean created = !Files.exists(f);
        FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            long size = ch.size();
            long keep = completeLength(ch, size);
            if (keep < size) {
                ch.truncate(keep);
                ch.force(false);
                LOG.log(System.Logger.Level.WARNING, "part records: cut off a torn last record ({0} bytes) at the end"
                        + " of {1}: a write a crash or a power cut interrupted", Long.toString(size - keep), f);
            }
            if (created) {
                AtomicFiles.forceFolder(dir);
            }
            out = ch;
            outSize = keep;
            openDay = day;
            complete.put(f.getFileName().toString(), keep);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** The length of the file up to and including its last {@code '\n'}. */
    private static long completeLength(FileChannel ch, long size) throws IOException {
        long pos = size;
        ByteBuffer buf = ByteBuffer.allocate(LineReader.BLOCK);
        while (pos > 0) {
            long start = Math.max(0, pos - LineReader.BLOCK);
            buf.clear().limit((int) (pos - start));
            while (buf.hasRemaining()) {
                if (ch.read(buf, start + buf.position()) < 0) {
                    break;
                }
            }
            for (int i = buf.position() - 1; i >= 0; i--) {
                if (buf.get(i) == '\n') {
                    return start + i + 1;
                }
            }
            pos = start;
        }
        return 0;
    }

    private void closeOut() {
        if (out != null) {
            try {
                out.close();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "part records: closing {0}: {1}", file(openDay), e);
            }
            out = null;
            openDay = null;
        }
    }

    /** After a failed write: cut back to the last complete line where possible, and open afresh next time. */
    private void abandonOut() {
        if (out != null) {
            try {
                out.truncate(outSize);
            } catch (IOException e) {
                // the next open cuts a torn tail off anyway
            }
            closeOut();
        }
    }

    private void done(int n) {
        synchronized (progress) {
            handled += n;
            progress.notifyAll();
        }
        if (overflowing && queue.remainingCapacity() > QUEUE / 2) {
            overflowing = false;
        }
    }

    // ---- retention ----------------------------------------------------------------------------------------------

    private void retentionIfDue() {
        Instant now = clock.instant();
        if (lastRetention == null || !now.isBefore(lastRetention.plus(RETENTION_EVERY))
                || retentionDays.getAsInt() != lastRetentionDays) {
            enforceRetentionNow();
        }
    }

    private void enforceRetentionNow() {
        try {
            enforceRetention();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "part records: retention run failed: " + e, e);
        }
    }

    /**
     * Deletes every day file whose whole day is older than {@code parts.retentionDays} (none with 0).
     *
     * @return the files deleted
     */
    public synchronized List<Path> enforceRetention() {
        Instant now = clock.instant();
        int days = retentionDays.getAsInt();
        lastRetention = now;
        lastRetentionDays = days;
        List<Path> deleted = new ArrayList<>();
        if (days <= 0) {
            return deleted;
        }
        Instant cutoff = now.minus(Duration.ofDays(days));
        for (DayFile f : dayFiles()) {
            if (!f.day().plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant().isAfter(cutoff)) {
                if (f.day().equals(openDay)) {
                    closeOut(); // a late record of an expired day: the next one opens a new file
                }
                try {
                    Files.deleteIfExists(f.path());
                    complete.remove(f.path().getFileName().toString());
                    deleted.add(f.path());
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "part records: cannot delete {0} ({1}); check the"
                            + " permissions of {2}", f.path(), e, dir);
                }
            }
        }
        if (!deleted.isEmpty()) {
            AtomicFiles.forceFolder(dir);
            LOG.log(System.Logger.Level.INFO, "part records: deleted {0} day file(s) older than {1} days"
                    + " (parts.retentionDays), up to {2}", Integer.toString(deleted.size()), Integer.toString(days),
                    deleted.get(deleted.size() - 1).getFileName());
        }
        return deleted;
    }

    /** A day file and its day. */
    record DayFile(LocalDate day, Path path) {}

    /** Every day file, oldest first (other files in the folder are left alone). */
    List<DayFile> dayFiles() {
        List<DayFile> files = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, PREFIX + "*" + SUFFIX)) {
            for (Path p : s) {
                String name = p.getFileName().toString();
                try {
                    files.add(new DayFile(LocalDate.parse(name.substring(PREFIX.length(),
                            name.length() - SUFFIX.length())), p));
                } catch (DateTimeParseException e) {
                    // not one of ours
                }
            }
        } catch (NoSuchFileException e) {
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException("part records: cannot list " + dir, e);
        }
        files.sort(Comparator.comparing(DayFile::day));
        return files;
    }

    // ---- reading ------------------------------------------------------------------------------------------------

    /** The records a query asks for, in a list (small queries; a report streams through {@link #open}). */
    public List<PartRecord> query(Query q) {
        List<PartRecord> out = new ArrayList<>();
        try (Cursor c = open(q)) {
            c.forEachRemaining(out::add);
        }
        return out;
    }

    /**
     * A cursor over the records a query asks for, read lazily file by file. Records accepted before this call are
     * included (it waits up to 5 s for the writer). Close it (try-with-resources).
     */
    public Cursor open(Query q) {
        flush(Duration.ofSeconds(5));
        LocalDate first = LocalDate.ofInstant(q.from(), ZoneOffset.UTC);
        LocalDate last = LocalDate.ofInstant(q.to().minusNanos(1), ZoneOffset.UTC);
        List<DayFile> files = q.to().isAfter(q.from()) ? dayFiles().stream().filter(f -> !f.day().isBefore(first)
                && !f.day().isAfter(last)).collect(java.util.stream.Collectors.toCollection(ArrayList::new))
                : new ArrayList<>();
        if (q.newestFirst()) {
            java.util.Collections.reverse(files);
        }
        return new Cursor(q, files);
    }

    /** Records of a query, one file open at a time. Not thread-safe. */
    public final class Cursor implements Iterator<PartRecord>, AutoCloseable {
        private final Query q;
        private final Iterator<DayFile> files;
        private DayFile file;
        private FileChannel channel;
        private LineReader lines;
        private PartRecord next;
        private int returned;
        private int damaged;
        private String firstDamage;
        private boolean done;

        private Cursor(Query q, List<DayFile> files) {
            this.q = q;
            this.files = files.iterator();
        }

        @Override
        public boolean hasNext() {
            if (next == null && !done) {
                next = advance();
                if (next == null) {
                    done = true;
                    close();
                }
            }
            return next != null;
        }

        @Override
        public PartRecord next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            PartRecord r = next;
            next = null;
            returned++;
            return r;
        }

        private PartRecord advance() {
            if (returned >= q.limit()) {
                return null;
            }
            try {
                while (true) {
                    if (lines == null && !openNext()) {
                        return null;
                    }
                    byte[] line = lines.next();
                    if (line == null) {
                        endOfFile();
                        continue;
                    }
                    PartRecord p = match(line);
                    if (p != null) {
                        return p;
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("part records: cannot read " + (file == null ? dir : file.path())
                        + " (" + e.getMessage() + ")", e);
            }
        }

        private boolean openNext() throws IOException {
            while (files.hasNext()) {
                file = files.next();
                try {
                    channel = FileChannel.open(file.path(), StandardOpenOption.READ);
                } catch (NoSuchFileException e) {
                    continue; // retention deleted it meanwhile
                }
                long size = channel.size();
                Long known = complete.get(file.path().getFileName().toString());
                lines = new LineReader(channel, known == null ? size : Math.min(size, known), q.newestFirst());
                damaged = 0;
                firstDamage = null;
                return true;
            }
            return false;
        }

        private PartRecord match(byte[] line) {
            Instant t = PartJson.timeOf(line);
            if (t != null && (t.isBefore(q.from()) || !t.isBefore(q.to()))) {
                return null;
            }
            PartRecord p;
            try {
                p = PartJson.parse(line, t);
            } catch (IllegalArgumentException e) {
                damaged++;
                if (firstDamage == null) {
                    firstDamage = e.getMessage();
                }
                return null;
            }
            if (p.time().isBefore(q.from()) || !p.time().isBefore(q.to())) {
                return null;
            }
            if (q.lot() != null && !q.lot().equals(p.lot()) || q.camera() != null && !q.camera().equals(p.camera())) {
                return null;
            }
            return p;
        }

        private void endOfFile() {
            String name = file.path().getFileName().toString();
            if (lines.tornTail() && reported.add(name + ":torn")) {
                LOG.log(System.Logger.Level.WARNING, "part records: skipped a torn last record ({0} bytes) at the end"
                        + " of {1}: a write a crash or a power cut interrupted; it is left out of every query (the"
                        + " writer cuts it off before it appends to that file again)", Long.toString(lines.tornBytes()),
                        file.path());
            }
            int bad = damaged + lines.overlong();
            if (bad > 0 && reported.add(name + ":damaged")) {
                LOG.log(System.Logger.Level.WARNING, "part records: skipped {0} damaged line(s) in {1}{2}; they are"
                        + " left out of every query", Integer.toString(bad), file.path(), firstDamage == null ? ""
                        : " (first: " + firstDamage + ")");
            }
            closeChannel();
        }

        private void closeChannel() {
            lines = null;
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException e) {
                    // read-only
                }
                channel = null;
            }
        }

        @Override
        public void close() {
            done = true;
            closeChannel();
        }
    }

    // ---- closing ------------------------------------------------------------------------------------------------

    /** Writes what is queued, forces it and stops the writer (waits up to 10 s). Idempotent. */
    @Override
    public void close() {
        closing = true;
        try {
            writer.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (writer.isAlive()) {
            LOG.log(System.Logger.Level.WARNING, "part records: the writer did not finish within 10 s; {0} records"
                    + " still queued are lost", Integer.toString(queue.size()));
            return;
        }
        // a record offered while the writer was finishing: written here (the writer is gone, its state is ours)
        List<PartRecord> late = new ArrayList<>();
        queue.drainTo(late);
        if (!late.isEmpty()) {
            write(late);
        }
        synchronized (this) {
            closeOut();
        }
    }
}
