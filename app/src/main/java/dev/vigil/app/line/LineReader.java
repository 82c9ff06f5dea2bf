package dev.vigil.app.line;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * The complete lines of the first {@code limit} bytes of a file, first to last or last to first, read in blocks (a
 * file of any size costs one block of memory plus the longest line). A line is complete when a {@code '\n'} ends it:
 * bytes after the last one are a torn tail (a write a crash or a power cut interrupted), never returned, and
 * {@link #tornTail()} says so once it is known. A line longer than {@link #MAX_LINE} is not returned either (it is
 * damage, not a record: a part record is a few hundred bytes) and counted in {@link #overlong()}. Empty lines are
 * skipped. Not thread-safe; the caller owns and closes the channel.
 */
final class LineReader {
    static final int BLOCK = 64 * 1024;
    static final int MAX_LINE = 1 << 20;
    private final FileChannel channel;
    private final long limit;
    private final boolean backwards;
    private final ArrayDeque<byte[]> ready = new ArrayDeque<>();
    /** Forwards: the next byte to read. Backwards: the first byte already read. */
    private long pos;
    /** Bytes of the line being assembled (forwards: its start; backwards: its end). */
    private byte[] partial = new byte[0];
    private boolean skipping;
    private boolean tornTail;
    private long tornBytes;
    private int overlong;
    private boolean tailChecked;

    LineReader(FileChannel channel, long limit, boolean backwards) {
        this.channel = channel;
        this.limit = limit;
        this.backwards = backwards;
        this.pos = backwards ? limit : 0;
    }

    /** The next line (without its {@code '\n'}), or null at the end. */
    byte[] next() throws IOException {
        while (ready.isEmpty()) {
            if (!fill()) {
                return null;
            }
        }
        return ready.poll();
    }

    /** Whether the bytes after the last {@code '\n'} were a torn tail (known when it has been read past). */
    boolean tornTail() {
        return tornTail;
    }

    long tornBytes() {
        return tornBytes;
    }

    int overlong() {
        return overlong;
    }

    private boolean fill() throws IOException {
        if (backwards ? pos <= 0 : pos >= limit) {
            if (!backwards) {
                endForwards();
            }
            return false;
        }
        long start = backwards ? Math.max(0, pos - BLOCK) : pos;
        int n = (int) (backwards ? pos - start : Math.min(BLOCK, limit - pos));
        byte[] block = new byte[n];
        ByteBuffer buf = ByteBuffer.wrap(block);
        while (buf.hasRemaining()) {
            int r = channel.read(buf, start + buf.position());
            if (r < 0) { // the file shrank under us (retention, a repair): what is left is not a line
                block = Arrays.copyOf(block, buf.position());
                n = block.length;
                break;
            }
        }
        if (backwards) {
            pos = start;
            splitBackwards(block, n);
        } else {
            pos += n;
            splitForwards(block, n);
            if (n == 0 || pos >= limit) {
                endForwards();
            }
        }
        return true;
    }

    private void splitForwards(byte[] block, int n) {
        int from = 0;
        for (int i = 0; i < n; i++) {
            if (block[i] == '\n') {
                emit(concat(partial, block, from, i));
                partial = new byte[0];
                from = i + 1;
            }
        }
        append(block, from, n);
        if (n == 0) {
            pos = limit; // nothing more to read
        }
    }

    private void endForwards() {
        if (!tailChecked) {
            tailChecked = true;
            if (partial.length > 0 || skipping) {
                tornTail = true;
                tornBytes = partial.length;
            }
            partial = new byte[0];
            skipping = false;
        }
    }

    private void splitBackwards(byte[] block, int n) {
        int end = n;
        for (int i = n - 1; i >= 0; i--) {
            if (block[i] == '\n') {
                if (!tailChecked) {
                    tailChecked = true;
                    long after = (long) (end - i - 1) + partial.length;
                    if (after > 0 || skipping) {
                        tornTail = true;
                        tornBytes = after;
                    }
                    partial = new byte[0];
                    skipping = false;
                } else {
                    emit(concat(block, i + 1, end, partial));
                    partial = new byte[0];
                }
                end = i;
            }
        }
        prepend(block, 0, end);
        if (pos <= 0) {
            if (!tailChecked) { // not a single '\n' in the file: all of it is a torn tail
                tailChecked = true;
                if (partial.length > 0 || skipping) {
                    tornTail = true;
                    tornBytes = partial.length;
                }
            } else {
                emit(partial); // the file's first line
            }
            partial = new byte[0];
            skipping = false;
        }
    }

    /** A complete line, in reading order (forwards: first to last; backwards: last to first). */
    private void emit(byte[] line) {
        if (skipping) {
            skipping = false;
            overlong++;
            return;
        }
        if (line.length > 0) {
            ready.add(line);
        }
    }

    private void append(byte[] block, int from, int to) {
        if (skipping) {
            return;
        }
        if (partial.length + (to - from) > MAX_LINE) {
            skipping = true;
            partial = new byte[0];
            return;
        }
        partial = concat(partial, block, from, to);
    }

    private void prepend(byte[] block, int from, int to) {
        if (skipping) {
            return;
        }
        if (partial.length + (to - from) > MAX_LINE) {
            skipping = true;
            partial = new byte[0];
            return;
        }
        partial = concat(block, from, to, partial);
    }

    private static byte[] concat(byte[] head, byte[] block, int from, int to) {
        byte[] out = Arrays.copyOf(head, head.length + (to - from));
        System.arraycopy(block, from, out, head.length, to - from);
        return out;
    }

    private static byte[] concat(byte[] block, int from, int to, byte[] tail) {
        byte[] out = new byte[(to - from) + tail.length];
        System.arraycopy(block, from, out, 0, to - from);
        System.arraycopy(tail, 0, out, to - from, tail.length);
        return out;
    }
}
