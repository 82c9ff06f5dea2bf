package dev.vigil.trainer.features;

import dev.vigil.core.image.Variant;
import dev.vigil.core.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Prefix features on disk, one file per image content hash and variant, under a folder named by the
 * {@link FeatureSpec#key()}. Re-training after new labels computes features only for the new images.
 * Files are written through a temporary file and a rename; a damaged file is treated as missing.
 */
public final class FeatureCache {
    private static final int MAGIC = 0x56494746; // "VIGF"
    /** The cut map in half precision, then the pooled floats. */
    private static final int MAGIC_HALF = 0x56494748; // "VIGH"
    /** Magic, cut length, pooled length; the cut map starts right after. */
    private static final int HEADER = 12;
    private final Path dir;

    public FeatureCache(Path root, FeatureSpec spec) {
        this.dir = root.resolve(spec.key());
    }

    public Path dir() {
        return dir;
    }

    private Path file(String imageSha, Variant v) {
        return dir.resolve(imageSha.substring(0, 2)).resolve(imageSha + "-" + v.id() + ".f32");
    }

    public Optional<Features> get(String imageSha, Variant v) {
        Path f = file(imageSha, v);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        try {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
            int magic = b.remaining() < HEADER ? 0 : b.getInt();
            if (magic == MAGIC_HALF) {
                int cutLen = b.getInt();
                int pooledLen = b.getInt();
                if (cutLen < 0 || pooledLen < 0 || b.remaining() != 2L * cutLen + 4L * pooledLen) {
                    return Optional.empty();
                }
                short[] half = new short[cutLen];
                float[] pooled = new float[pooledLen];
                b.asShortBuffer().get(half);
                b.position(b.position() + 2 * cutLen);
                b.asFloatBuffer().get(pooled);
                return Optional.of(new Features(new CutMap.Halves(half), pooled));
            }
            if (magic != MAGIC) {
                return Optional.empty();
            }
            int cutLen = b.getInt();
            int pooledLen = b.getInt();
            if (cutLen < 0 || pooledLen < 0 || b.remaining() != 4L * (cutLen + pooledLen)) {
                return Optional.empty();
            }
            float[] cut = new float[cutLen];
            float[] pooled = new float[pooledLen];
            b.asFloatBuffer().get(cut).get(pooled);
            return Optional.of(Features.ofFloats(cut, pooled));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Writes {@code f} (whose map is in memory) and returns the same features with the map left in the file:
     * {@link FeatureStore} streams large sets this way.
     */
    public Features put(String imageSha, Variant v, Features f) throws IOException {
        Path file = file(imageSha, v);
        if (f.cut() instanceof CutMap.Halves h) {
            ByteBuffer b = ByteBuffer.allocate(HEADER + 2 * h.values().length + 4 * f.pooled().length)
                    .order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(MAGIC_HALF).putInt(h.values().length).putInt(f.pooled().length);
            b.asShortBuffer().put(h.values());
            b.position(HEADER + 2 * h.values().length);
            b.asFloatBuffer().put(f.pooled());
            AtomicFiles.writeCache(file, b.array());
            return f.streamed(new CutMap.OnDisk(file, HEADER, h.values().length, true));
        }
        if (!(f.cut() instanceof CutMap.Floats c)) {
            throw new IllegalArgumentException("features already on disk: " + f.cut());
        }
        ByteBuffer b = ByteBuffer.allocate(HEADER + 4 * (c.values().length + f.pooled().length))
                .order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putInt(c.values().length).putInt(f.pooled().length);
        b.asFloatBuffer().put(c.values()).put(f.pooled());
        AtomicFiles.writeCache(file, b.array());
        return f.streamed(new CutMap.OnDisk(file, HEADER, c.values().length, false));
    }

    /** {@code f}, read by {@link #get} from this cache, with its map left in the file. */
    public Features onDisk(String imageSha, Variant v, Features f) {
        return f.streamed(new CutMap.OnDisk(file(imageSha, v), HEADER, f.cutLength(), f.cut() instanceof CutMap.Halves));
    }
}
