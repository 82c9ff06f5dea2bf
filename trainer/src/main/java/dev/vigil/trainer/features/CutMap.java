package dev.vigil.trainer.features;

import dev.vigil.core.VigilException;
import dev.vigil.trainer.onnx.OnnxTensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One image variant's feature map at the cut: held in memory (floats, or half precision), or left in its
 * feature-cache file and read back for every batch that uses it. Sets whose maps would not fit the trainer's memory
 * budget ({@link FeatureMemory}) are streamed this way, so a training's memory does not grow with the image count.
 */
public sealed interface CutMap {
    /** No map: no trainable suffix follows the prefix. */
    CutMap EMPTY = new Floats(new float[0]);

    /** Values in the map. */
    int length();

    /** Writes the map as floats into {@code dst} from {@code offset}. */
    void copyTo(float[] dst, int offset);

    /** The map as floats (a fresh array unless held as floats). */
    default float[] floats() {
        float[] out = new float[length()];
        copyTo(out, 0);
        return out;
    }

    /** Bytes this map holds in memory. */
    long heapBytes();

    /** Full-precision values in memory. */
    record Floats(float[] values) implements CutMap {
        @Override
        public int length() {
            return values.length;
        }

        @Override
        public void copyTo(float[] dst, int offset) {
            System.arraycopy(values, 0, dst, offset, values.length);
        }

        @Override
        public float[] floats() {
            return values;
        }

        @Override
        public long heapBytes() {
            return 4L * values.length;
        }
    }

    /** Half-precision values (IEEE binary16 bits) in memory: patch maps, at half the size. */
    record Halves(short[] values) implements CutMap {
        @Override
        public int length() {
            return values.length;
        }

        @Override
        public void copyTo(float[] dst, int offset) {
            for (int i = 0; i < values.length; i++) {
                dst[offset + i] = OnnxTensors.halfToFloat(values[i]);
            }
        }

        @Override
        public long heapBytes() {
            return 2L * values.length;
        }
    }

    /**
     * A map left on disk: {@code length} little-endian values from byte {@code offset} of {@code file}, floats or
     * half precision. Each read opens the file, so the process holds no descriptor between batches; the operating
     * system's page cache (reclaimable, not the process's resident memory) keeps repeated reads fast.
     */
    record OnDisk(Path file, long offset, int length, boolean half) implements CutMap {
        @Override
        public void copyTo(float[] dst, int offset) {
            int bytes = length * (half ? 2 : 4);
            ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                long at = this.offset;
                while (b.hasRemaining()) {
                    int n = ch.read(b, at);
                    if (n < 0) {
                        throw new VigilException("the feature-cache file " + file + " ends early (" + b.position()
                                + " of " + bytes + " bytes): it changed during training; delete the cache folder "
                                + file.getParent().getParent() + " and train again");
                    }
                    at += n;
                }
            } catch (IOException e) {
                throw new VigilException("cannot read the feature-cache file " + file + " during training: "
                        + e.getMessage() + "; keep the cache folder in place while a training runs");
            }
            b.flip();
            if (half) {
                for (int i = 0; i < length; i++) {
                    dst[offset + i] = OnnxTensors.halfToFloat(b.getShort());
                }
            } else {
                b.asFloatBuffer().get(dst, offset, length);
            }
        }

        @Override
        public long heapBytes() {
            return 0;
        }
    }

    /**
     * The network input itself ({@code --unfreeze all}: the cut is the image input), decoded and preprocessed from
     * the image file on every read instead of kept: a set of full-size inputs beyond the memory budget costs a decode
     * per sample (milliseconds, against the whole network's forward and backward pass) instead of memory.
     */
    record Decoded(Path image, dev.vigil.core.image.Preprocessing preprocessing,
            dev.vigil.core.image.Variant variant) implements CutMap {
        @Override
        public int length() {
            return preprocessing.valuesPerImage();
        }

        @Override
        public void copyTo(float[] dst, int offset) {
            float[] x = dev.vigil.core.image.ImageIo.preprocess(dev.vigil.core.image.ImageIo.read(image),
                    preprocessing, variant, image.toString());
            System.arraycopy(x, 0, dst, offset, x.length);
        }

        @Override
        public long heapBytes() {
            return 0;
        }
    }
}
