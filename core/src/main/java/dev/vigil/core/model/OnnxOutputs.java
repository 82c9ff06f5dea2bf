package dev.vigil.core.model;

import dev.vigil.core.VigilException;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The output names of an ONNX model, read by walking the protobuf wire format of the file and skipping everything
 * else (the weights are never held in memory): serving needs the names to check a package's manifest, and parsing
 * the whole graph for that would cost the model's size in heap. ONNX: {@code ModelProto.graph} is field 7,
 * {@code GraphProto.output} field 12, {@code ValueInfoProto.name} field 1. The same walk reads a few named float
 * initializers ({@link #floatInitializers}).
 */
public final class OnnxOutputs {
    private static final int MODEL_GRAPH = 7;
    private static final int GRAPH_OUTPUT = 12;
    private static final int VALUE_INFO_NAME = 1;

    private OnnxOutputs() {}

    public static List<String> names(Path model) {
        try (InputStream raw = Files.newInputStream(model);
                Reader in = new Reader(new BufferedInputStream(raw, 1 << 16))) {
            List<String> outputs = new ArrayList<>();
            boolean graphSeen = false;
            while (in.hasMore()) {
                long tag = in.varint();
                if (fieldOf(tag) == MODEL_GRAPH && wireOf(tag) == 2) {
                    graphSeen = true;
                    long end = in.position() + in.varint();
                    while (in.position() < end) {
                        long t = in.varint();
                        if (fieldOf(t) == GRAPH_OUTPUT && wireOf(t) == 2) {
                            long infoEnd = in.position() + in.varint();
                            String name = null;
                            while (in.position() < infoEnd) {
                                long f = in.varint();
                                if (fieldOf(f) == VALUE_INFO_NAME && wireOf(f) == 2) {
                                    name = new String(in.bytes((int) in.varint()), StandardCharsets.UTF_8);
                                } else {
                                    in.skip(wireOf(f));
                                }
                            }
                            if (name != null) {
                                outputs.add(name);
                            }
                        } else {
                            in.skip(wireOf(t));
                        }
                    }
                } else {
                    in.skip(wireOf(tag));
                }
            }
            if (!graphSeen) {
                throw new VigilException(model + " holds no ONNX graph; the model file is damaged: train or copy"
                        + " the package again");
            }
            return List.copyOf(outputs);
        } catch (EOFException e) {
            throw new VigilException(model + " ends in the middle of the ONNX model (truncated?); copy the package"
                    + " again");
        } catch (IOException e) {
            throw new VigilException("cannot read " + model + ": " + e.getMessage());
        }
    }

    /** {@code GraphProto.initializer}; {@code TensorProto} {@code dims}, {@code data_type}, {@code float_data},
     * {@code name}, {@code raw_data}. */
    private static final int GRAPH_INITIALIZER = 5;
    private static final int TENSOR_DIMS = 1;
    private static final int TENSOR_DATA_TYPE = 2;
    private static final int TENSOR_FLOAT_DATA = 4;
    private static final int TENSOR_NAME = 8;
    private static final int TENSOR_RAW_DATA = 9;
    private static final int FLOAT = 1;

    /** A float initializer of the graph: its shape and values (row-major). */
    public record FloatTensor(long[] dims, float[] values) {}

    /**
     * The graph initializers named {@code wanted} that hold floats (raw little-endian data or {@code float_data}),
     * read in one pass that skips every other tensor's bytes: the service reads a few small constants of a package
     * (the drift reference) without holding the weights. A name not found (or not a float tensor) is absent from
     * the answer.
     */
    public static java.util.Map<String, FloatTensor> floatInitializers(Path model, java.util.Set<String> wanted) {
        java.util.Map<String, FloatTensor> out = new java.util.HashMap<>();
        try (InputStream raw = Files.newInputStream(model);
                Reader in = new Reader(new BufferedInputStream(raw, 1 << 16))) {
            while (in.hasMore() && out.size() < wanted.size()) {
                long tag = in.varint();
                if (fieldOf(tag) != MODEL_GRAPH || wireOf(tag) != 2) {
                    in.skip(wireOf(tag));
                    continue;
                }
                long end = in.position() + in.varint();
                while (in.position() < end && out.size() < wanted.size()) {
                    long t = in.varint();
                    if (fieldOf(t) != GRAPH_INITIALIZER || wireOf(t) != 2) {
                        in.skip(wireOf(t));
                        continue;
                    }
                    long tensorEnd = in.position() + in.varint();
                    String name = null;
                    int type = 0;
                    List<Long> dims = new ArrayList<>();
                    byte[] data = null;
                    java.io.ByteArrayOutputStream floats = new java.io.ByteArrayOutputStream();
                    while (in.position() < tensorEnd) {
                        long f = in.varint();
                        int field = fieldOf(f);
                        int wire = wireOf(f);
                        // protobuf writers put fields in number order, so the name (8) comes before the data (9);
                        // data before any name is kept in case the name that follows is wanted
                        boolean keep = name == null || wanted.contains(name);
                        if (field == TENSOR_NAME && wire == 2) {
                            name = new String(in.bytes((int) in.varint()), StandardCharsets.UTF_8);
                        } else if (field == TENSOR_DATA_TYPE && wire == 0) {
                            type = (int) in.varint();
                        } else if (field == TENSOR_DIMS && wire == 0) {
                            dims.add(in.varint());
                        } else if (field == TENSOR_DIMS && wire == 2) {
                            long dimsEnd = in.position() + in.varint();
                            while (in.position() < dimsEnd) {
                                dims.add(in.varint());
                            }
                        } else if (field == TENSOR_RAW_DATA && wire == 2 && keep) {
                            data = in.bytes((int) in.varint());
                        } else if (field == TENSOR_FLOAT_DATA && wire == 2 && keep) {
                            floats.write(in.bytes((int) in.varint()));
                        } else if (field == TENSOR_FLOAT_DATA && wire == 5 && keep) {
                            floats.write(in.bytes(4));
                        } else {
                            in.skip(wire);
                        }
                    }
                    if (name == null || !wanted.contains(name) || type != FLOAT
                            || (data == null && floats.size() == 0)) { // external data: not read here
                        continue;
                    }
                    byte[] bytes = data != null ? data : floats.toByteArray();
                    float[] values = new float[bytes.length / 4];
                    java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
                    out.put(name, new FloatTensor(dims.stream().mapToLong(Long::longValue).toArray(), values));
                }
            }
            return out;
        } catch (EOFException e) {
            throw new VigilException(model + " ends in the middle of the ONNX model (truncated?); copy the package"
                    + " again");
        } catch (IOException e) {
            throw new VigilException("cannot read " + model + ": " + e.getMessage());
        }
    }

    private static int fieldOf(long tag) {
        return (int) (tag >>> 3);
    }

    private static int wireOf(long tag) {
        return (int) (tag & 7);
    }

    /** A counting reader of protobuf primitives. */
    private static final class Reader implements AutoCloseable {
        private final InputStream in;
        private long position;

        Reader(InputStream in) {
            this.in = in;
        }

        long position() {
            return position;
        }

        boolean hasMore() throws IOException {
            in.mark(1);
            int b = in.read();
            in.reset();
            return b >= 0;
        }

        int read() throws IOException {
            int b = in.read();
            if (b < 0) {
                throw new EOFException();
            }
            position++;
            return b;
        }

        long varint() throws IOException {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                int b = read();
                v |= (long) (b & 0x7f) << shift;
                if ((b & 0x80) == 0) {
                    return v;
                }
            }
            throw new IOException("malformed varint at byte " + position);
        }

        byte[] bytes(int n) throws IOException {
            byte[] b = in.readNBytes(n);
            if (b.length < n) {
                throw new EOFException();
            }
            position += n;
            return b;
        }

        void skip(int wireType) throws IOException {
            switch (wireType) {
                case 0 -> varint();
                case 1 -> skipCounted(8);
                case 2 -> skipCounted(varint());
                case 5 -> skipCounted(4);
                default -> throw new IOException("unsupported protobuf wire type " + wireType + " at byte "
                        + position + " (not an ONNX model?)");
            }
        }

        private void skipCounted(long n) throws IOException {
            long left = n;
            while (left > 0) {
                long s = in.skip(left);
                if (s <= 0) {
                    if (in.read() < 0) {
                        throw new EOFException();
                    }
                    s = 1;
                }
                left -= s;
            }
            position += n;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
