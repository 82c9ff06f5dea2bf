package dev.vigil.app.web;

import java.io.IOException;
import java.io.InputStream;
import java.util.function.Supplier;

/**
 * A response body made chunk by chunk while it is sent ({@code next} returns null at the end), so an export of many
 * records never sits in memory whole. {@code onClose} runs once, at the end or when the client goes away.
 */
final class ChunkInputStream extends InputStream {
    private final Supplier<byte[]> next;
    private final Runnable onClose;
    private byte[] chunk = new byte[0];
    private int at;
    private boolean ended;
    private boolean closed;

    ChunkInputStream(Supplier<byte[]> next, Runnable onClose) {
        this.next = next;
        this.onClose = onClose;
    }

    private boolean ready() throws IOException {
        while (at >= chunk.length) {
            if (ended) {
                return false;
            }
            byte[] c;
            try {
                c = next.get();
            } catch (RuntimeException e) {
                close();
                throw new IOException("the response could not be completed: " + e.getMessage(), e);
            }
            if (c == null) {
                ended = true;
                close();
                return false;
            }
            chunk = c;
            at = 0;
        }
        return true;
    }

    @Override
    public int read() throws IOException {
        return ready() ? chunk[at++] & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        int n = 0;
        while (n < len && ready()) {
            int k = Math.min(len - n, chunk.length - at);
            System.arraycopy(chunk, at, b, off + n, k);
            at += k;
            n += k;
            if (n > 0 && at >= chunk.length && n >= len / 2) {
                break; // enough for this read; the next chunk may cost a file read
            }
        }
        return n == 0 ? -1 : n;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            ended = true;
            onClose.run();
        }
    }
}
