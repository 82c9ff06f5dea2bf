package dev.vigil.trainer.onnx;

import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/** Conversions between ONNX {@link TensorProto}s and Java arrays. ONNX stores raw data little-endian. */
public final class OnnxTensors {
    public static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    public static final int FLOAT16 = TensorProto.DataType.FLOAT16_VALUE;
    public static final int UINT8 = TensorProto.DataType.UINT8_VALUE;
    public static final int INT8 = TensorProto.DataType.INT8_VALUE;
    public static final int INT32 = TensorProto.DataType.INT32_VALUE;
    public static final int INT64 = TensorProto.DataType.INT64_VALUE;

    private OnnxTensors() {}

    /** The values of an ONNX Runtime float output, copied out of its buffer. */
    public static float[] floats(ai.onnxruntime.OnnxValue v) {
        java.nio.FloatBuffer fb = ((ai.onnxruntime.OnnxTensor) v).getFloatBuffer();
        float[] out = new float[fb.remaining()];
        fb.get(out);
        return out;
    }

    public static long[] dims(TensorProto t) {
        return t.getDimsList().stream().mapToLong(Long::longValue).toArray();
    }

    public static long elementCount(TensorProto t) {
        long n = 1;
        for (long d : t.getDimsList()) {
            n *= d;
        }
        return n;
    }

    /** The tensor's values as floats, whatever its numeric element type. */
    public static float[] toFloats(TensorProto t) {
        int n = Math.toIntExact(elementCount(t));
        float[] out = new float[n];
        ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        boolean hasRaw = !t.getRawData().isEmpty();
        switch (t.getDataType()) {
            case FLOAT -> {
                if (hasRaw) {
                    raw.asFloatBuffer().get(out);
                } else {
                    for (int i = 0; i < n; i++) {
                        out[i] = t.getFloatData(i);
                    }
                }
            }
            case FLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    short h = hasRaw ? raw.getShort(2 * i) : (short) t.getInt32Data(i);
                    out[i] = halfToFloat(h);
                }
            }
            case UINT8 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = hasRaw ? (raw.get(i) & 0xff) : t.getInt32Data(i);
                }
            }
            case INT8 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = hasRaw ? raw.get(i) : t.getInt32Data(i);
                }
            }
            case INT32 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = hasRaw ? raw.getInt(4 * i) : t.getInt32Data(i);
                }
            }
            case INT64 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = hasRaw ? raw.getLong(8 * i) : t.getInt64Data(i);
                }
            }
            default -> throw new IllegalArgumentException(
                    "tensor " + t.getName() + " has element type " + t.getDataType() + ", which Vigil cannot read");
        }
        return out;
    }

    public static long[] toLongs(TensorProto t) {
        float[] f = t.getDataType() == INT64 ? null : toFloats(t);
        int n = Math.toIntExact(elementCount(t));
        long[] out = new long[n];
        if (f != null) {
            for (int i = 0; i < n; i++) {
                out[i] = (long) f[i];
            }
            return out;
        }
        if (!t.getRawData().isEmpty()) {
            t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = t.getInt64Data(i);
            }
        }
        return out;
    }

    /** A float32 tensor with raw little-endian data. */
    /** A matrix's rows one after the other (row-major), as a tensor's values. */
    public static float[] flatten(float[][] m) {
        float[] out = new float[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) {
            System.arraycopy(m[i], 0, out, i * m[i].length, m[i].length);
        }
        return out;
    }

    public static TensorProto floatTensor(String name, long[] dims, float[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(FLOAT)
                .setRawData(ByteString.copyFrom(buf.array()));
        for (long d : dims) {
            b.addDims(d);
        }
        return b.build();
    }

    public static TensorProto longTensor(String name, long[] dims, long[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        buf.asLongBuffer().put(values);
        TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(INT64)
                .setRawData(ByteString.copyFrom(buf.array()));
        for (long d : dims) {
            b.addDims(d);
        }
        return b.build();
    }

    /** The same tensor with float32 elements (used to turn fp16 weights into fp32). */
    public static TensorProto toFloat32(TensorProto t) {
        if (t.getDataType() == FLOAT) {
            return t;
        }
        return floatTensor(t.getName(), dims(t), toFloats(t));
    }

    public static long product(List<Long> dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    public static TensorProto toFloat32IfHalf(TensorProto t) {
        return t.getDataType() == FLOAT16 ? toFloat32(t) : t;
    }

    private static final float[] HALF_TABLE = new float[65536];

    static {
        for (int i = 0; i < HALF_TABLE.length; i++) {
            HALF_TABLE[i] = halfToFloatSlow((short) i);
        }
    }

    /** IEEE 754 binary16 to float (Float.float16ToFloat exists only from Java 20); a table lookup. */
    public static float halfToFloat(short half) {
        return HALF_TABLE[half & 0xffff];
    }

    private static float halfToFloatSlow(short half) {
        int h = half & 0xffff;
        int sign = (h >>> 15) << 31;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    /** Float to IEEE 754 binary16, rounding to nearest even (Float.floatToFloat16 exists only from Java 20). */
    public static short floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) {
            return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1f) {
            return (short) (sign | 0x7c00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign;
            }
            mant |= 0x800000;
            int shift = 14 - e;
            int half = mant >>> shift;
            int rest = mant & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rest > mid || (rest == mid && (half & 1) != 0)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >>> 13);
        int rest = mant & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) != 0)) {
            half++;
        }
        return (short) (sign | half);
    }
}
