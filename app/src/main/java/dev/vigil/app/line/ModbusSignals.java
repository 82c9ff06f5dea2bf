package dev.vigil.app.line;

import com.digitalpetri.modbus.ExceptionCode;
import com.digitalpetri.modbus.FunctionCode;
import com.digitalpetri.modbus.exceptions.ModbusResponseException;
import com.digitalpetri.modbus.exceptions.UnknownUnitIdException;
import com.digitalpetri.modbus.pdu.ReadCoilsRequest;
import com.digitalpetri.modbus.pdu.ReadCoilsResponse;
import com.digitalpetri.modbus.pdu.ReadDiscreteInputsRequest;
import com.digitalpetri.modbus.pdu.ReadDiscreteInputsResponse;
import com.digitalpetri.modbus.pdu.ReadHoldingRegistersRequest;
import com.digitalpetri.modbus.pdu.ReadHoldingRegistersResponse;
import com.digitalpetri.modbus.pdu.ReadInputRegistersRequest;
import com.digitalpetri.modbus.pdu.ReadInputRegistersResponse;
import com.digitalpetri.modbus.pdu.WriteMultipleCoilsRequest;
import com.digitalpetri.modbus.pdu.WriteMultipleCoilsResponse;
import com.digitalpetri.modbus.pdu.WriteMultipleRegistersRequest;
import com.digitalpetri.modbus.pdu.WriteMultipleRegistersResponse;
import com.digitalpetri.modbus.pdu.WriteSingleCoilRequest;
import com.digitalpetri.modbus.pdu.WriteSingleCoilResponse;
import com.digitalpetri.modbus.pdu.WriteSingleRegisterRequest;
import com.digitalpetri.modbus.pdu.WriteSingleRegisterResponse;
import com.digitalpetri.modbus.server.ModbusRequestContext;
import com.digitalpetri.modbus.server.ModbusServices;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The signal table as Modbus addresses (docs/plc.md has the same table). Camera {@code i} (its place in
 * {@code cameras}) owns the addresses {@code 100 i} to {@code 100 i + 99} of each table; the offsets within a block:
 * <pre>
 * coils (read/write)           0 trigger  1 result-ack  2 reset-counters
 * discrete inputs (read)       0 ready  1 busy  2 result-ready  3 ok  4 ng  5 error  6 heartbeat
 * input registers (read)       0 status word  1 class index  2 score x10000  3-4 part number (high, low)
 *                              5 error code  6-7 triggers  8-9 ok  10-11 ng  12-13 errors  14-15 deadline misses
 *                              16 min ms  17 avg ms  18 max ms
 * holding registers            0 control word (bit 0 trigger, 1 result-ack, 2 reset-counters)
 *                              1-2 next part number (high, low; 0 = Vigil numbers)  3-18 lot id (2 ASCII a register)
 *                              19 reserved (reads 0)  20-38 the input registers 0-18 again (read-only)
 * </pre>
 * Refused requests get Modbus exception codes: 02 an address outside the table or a write to a read-only register,
 * 03 a value out of range (control-word bits beyond 2, a lot id that is not printable ASCII), 06 a trigger while the
 * station is not ready. A request for another unit id is not answered.
 */
public final class ModbusSignals implements ModbusServices {
    public static final int BLOCK = 100;
    public static final int COILS = 3;
    public static final int DISCRETE_INPUTS = 7;
    public static final int INPUT_REGISTERS = 19;
    public static final int CONTROL = 0;
    public static final int NEXT_SEQUENCE = 1;
    public static final int LOT = 3;
    public static final int LOT_REGISTERS = Lots.MAX_LENGTH / 2;
    public static final int MIRROR = 20;
    public static final int HOLDING_REGISTERS = MIRROR + INPUT_REGISTERS;

    private final LineStations stations;
    private final int unitId;

    public ModbusSignals(LineStations stations, int unitId) {
        this.stations = stations;
        this.unitId = unitId;
    }

    private void unit(int id) throws UnknownUnitIdException {
        if (id != unitId) {
            stations.refused("modbus", "unit-id", "a request for unit id " + id + "; this server is unit "
                    + unitId + " (plc.modbus.unitId)");
            throw new UnknownUnitIdException(id);
        }
    }

    private ModbusResponseException refuse(FunctionCode f, ExceptionCode code, String kind, String detail) {
        stations.refused("modbus", kind, detail);
        return new ModbusResponseException(f, code);
    }

    /** The station and offset of each address in [address, address + quantity), all in one block and below size. */
    private LineStation block(FunctionCode f, int address, int quantity, int size, String table)
            throws ModbusResponseException {
        int index = address / BLOCK;
        int offset = address % BLOCK;
        var s = stations.at(index);
        if (quantity < 1 || s.isEmpty() || offset + quantity > size) {
            throw refuse(f, ExceptionCode.ILLEGAL_DATA_ADDRESS, "address", table + " " + address + ".."
                    + (address + quantity - 1) + " is outside the signal table (" + stations.all().size()
                    + " camera(s), offsets 0.." + (size - 1) + " of each block of " + BLOCK + "; docs/plc.md)");
        }
        return s.get();
    }

    private static byte[] bits(boolean[] v) {
        byte[] out = new byte[(v.length + 7) / 8];
        for (int i = 0; i < v.length; i++) {
            if (v[i]) {
                out[i / 8] |= (byte) (1 << (i % 8));
            }
        }
        return out;
    }

    /** Registers {@code [address, address + quantity)} of a block, big-endian, two bytes each. */
    private static byte[] registers(int[] block, int address, int quantity) {
        byte[] out = new byte[quantity * 2];
        for (int i = 0; i < quantity; i++) {
            int v = block[address % BLOCK + i];
            out[2 * i] = (byte) (v >> 8);
            out[2 * i + 1] = (byte) v;
        }
        return out;
    }

    private static int u16(long v) {
        return (int) Math.min(0xFFFF, Math.max(0, v));
    }

    /** The input registers 0..18 of a station. */
    static int[] inputRegisters(LineStation.Signals s) {
        LineStation.Counters c = s.counters();
        return new int[] {s.statusWord(), s.classIndex(), s.score(), (int) (s.partSequence() >>> 16) & 0xFFFF,
            (int) s.partSequence() & 0xFFFF, s.errorCode(), hi(c.triggers()), lo(c.triggers()), hi(c.ok()), lo(c.ok()),
            hi(c.ng()), lo(c.ng()), hi(c.errors()), lo(c.errors()), hi(c.deadlineMisses()), lo(c.deadlineMisses()),
            u16(c.minMs()), u16(c.avgMs()), u16(c.maxMs())};
    }

    private static int hi(long v) {
        return (int) (v >>> 16) & 0xFFFF;
    }

    private static int lo(long v) {
        return (int) v & 0xFFFF;
    }

    private int[] holdingRegisters(LineStation st) {
        LineStation.Signals s = st.signals();
        int[] out = new int[HOLDING_REGISTERS];
        out[CONTROL] = (s.trigger() ? 1 : 0) | (s.resultAck() ? 2 : 0) | (s.resetCounters() ? 4 : 0);
        out[NEXT_SEQUENCE] = hi(s.nextSequence());
        out[NEXT_SEQUENCE + 1] = lo(s.nextSequence());
        String lot = stations.lots().of(st.camera());
        byte[] b = lot == null ? new byte[0] : lot.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < LOT_REGISTERS; i++) {
            int h = 2 * i < b.length ? b[2 * i] & 0xFF : 0;
            int l = 2 * i + 1 < b.length ? b[2 * i + 1] & 0xFF : 0;
            out[LOT + i] = h << 8 | l;
        }
        System.arraycopy(inputRegisters(s), 0, out, MIRROR, INPUT_REGISTERS);
        return out;
    }

    @Override
    public ReadCoilsResponse readCoils(ModbusRequestContext ctx, int unit, ReadCoilsRequest r)
            throws ModbusResponseException, UnknownUnitIdException {
        unit(unit);
        LineStation st = block(FunctionCode.READ_COILS, r.address(), r.quantity(), COILS, "coils");
        LineStation.Signals s = st.signals();
        boolean[] all = {s.trigger(), s.resultAck(), s.resetCounters()};
        return new ReadCoilsResponse(bits(Arrays.copyOfRange(all, r.address() % BLOCK, r.address() % BLOCK
                + r.quantity())));
    }

    @Override
    public ReadDiscreteInputsResponse readDiscreteInputs(ModbusRequestContext ctx, int unit,
            ReadDiscreteInputsRequest r) throws ModbusResponseException, UnknownUnitIdException {
        unit(unit);
        LineStation st = block(FunctionCode.READ_DISCRETE_INPUTS, r.address(), r.quantity(), DISCRETE_INPUTS,
                "discrete inputs");
        LineStation.Signals s = st.signals();
        boolean[] all = {s.ready(), s.busy(), s.resultReady(), s.ok(), s.ng(), s.error(), s.heartbeat()};
        return new ReadDiscreteInputsResponse(bits(Arrays.copyOfRange(all, r.address() % BLOCK, r.address() % BLOCK
                + r.quantity())));
    }

    @Override
    public ReadInputRegistersResponse readInputRegisters(ModbusRequestContext ctx, int unit,
            ReadInputRegistersRequest r) throws ModbusResponseException, UnknownUnitIdException {
        unit(unit);
        LineStation st = block(FunctionCode.READ_INPUT_REGISTERS, r.address(), r.quantity(), INPUT_REGISTERS,
                "input registers");
        return new ReadInputRegistersResponse(registers(inputRegisters(st.signals()), r.address(), r.quantity()));
    }

    @Override
    public ReadHoldingRegistersResponse readHoldingRegisters(ModbusRequestContext ctx, int unit,
            ReadHoldingRegistersRequest r) throws ModbusResponseException, UnknownUnitIdException {
        unit(unit);
        LineStation st = block(FunctionCode.READ_HOLDING_REGISTERS, r.address(), r.quantity(), HOLDING_REGISTERS,
                "holding registers");
        return new ReadHoldingRegistersResponse(registers(holdingRegisters(st), r.address(), r.quantity()));
    }

    @Override
    public WriteSingleCoilResponse writeSingleCoil(ModbusRequestContext ctx, int unit, WriteSingleCoilRequest r)
            throws ModbusResponseException, UnknownUnitIdException {
        unit(unit);
        LineStation st = block(FunctionCode.WRITE_SINGLE_COIL, r.address(), 1, COILS, "coil");
        if (r.value() != 0 && r.value() != 0xFF00) {
            throw refuse(FunctionCode.WRITE_SINGLE_COIL, ExceptionCode.ILLEGAL_DATA_VALUE, "value", "coil "
                    + r.address() + " written with 0x" + Integer.toHexString(r.value()) + "; a coil takes 0x0000 or"
                    + " 0xFF00");
        }
        coil(FunctionCode.WRITE_SINGLE_COIL, st, r.address() % BLOCK, r.value() == 0xFF00);
        return new WriteSingleCoilResponse(r.address(), r.value());
    }

    @Override
    public WriteMultipleCoilsResponse writeMultipleCoils(ModbusRequestContext ctx, int unit,
            WriteMultipleCoilsRequest r) throws ModbusResponseException, UnknownUnitIdException {
        unit(unit);
        LineStation st = block(FunctionCode.WRITE_MULTIPLE_COILS, r.address(), r.quantity(), COILS, "coils");
        for (int i = 0; i < r.quantity(); i++) {
            boolean v = (r.values()[i / 8] >> (i % 8) & 1) == 1;
            coil(FunctionCode.WRITE_MULTIPLE_COILS, st, r.address() % BLOCK + i, v);
        }
        return new WriteMultipleCoilsResponse(r.address(), r.quantity());
    }

    private void coil(FunctionCode f, LineStation st, int offset, boolean v) throws ModbusResponseException {
        LineStation.Answer a = switch (offset) {
            case 0 -> st.writeTrigger(v);
            case 1 -> st.writeResultAck(v);
            default -> st.writeResetCounters(v);
        };
        if (a == LineStation.Answer.BUSY) {
            throw refuse(f, ExceptionCode.SLAVE_DEVICE_BUSY, "busy", "camera " + st.camera() + ": a trigger while the"
                    + " station is not ready (busy, or its last result not acknowledged)");
        }
    }

    @Override
    public WriteSingleRegisterResponse writeSingleRegister(ModbusRequestContext ctx, int unit,
            WriteSingleRegisterRequest r) throws ModbusResponseException, UnknownUnitIdException {
        unit(unit);
        writeRegisters(FunctionCode.WRITE_SINGLE_REGISTER, r.address(), new int[] {r.value() & 0xFFFF});
        return new WriteSingleRegisterResponse(r.address(), r.value());
    }

    @Override
    public WriteMultipleRegistersResponse writeMultipleRegisters(ModbusRequestContext ctx, int unit,
            WriteMultipleRegistersRequest r) throws ModbusResponseException, UnknownUnitIdException {
        unit(unit);
        int[] v = new int[r.quantity()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (r.values()[2 * i] & 0xFF) << 8 | (r.values()[2 * i + 1] & 0xFF);
        }
        writeRegisters(FunctionCode.WRITE_MULTIPLE_REGISTERS, r.address(), v);
        return new WriteMultipleRegistersResponse(r.address(), r.quantity());
    }

    /** Holding-register writes: checked as a whole first (nothing is applied from a refused request), then applied. */
    private void writeRegisters(FunctionCode f, int address, int[] v) throws ModbusResponseException {
        LineStation st = block(f, address, v.length, HOLDING_REGISTERS, "holding registers");
        int first = address % BLOCK;
        int last = first + v.length - 1;
        if (last >= LOT + LOT_REGISTERS) {
            throw refuse(f, ExceptionCode.ILLEGAL_DATA_ADDRESS, "read-only", "holding registers " + address + ".."
                    + (address + v.length - 1) + " include read-only registers (offsets " + (LOT + LOT_REGISTERS)
                    + ".." + (HOLDING_REGISTERS - 1) + "); the PLC writes offsets 0.." + (LOT + LOT_REGISTERS - 1));
        }
        if (first <= CONTROL && (v[CONTROL - first] & ~7) != 0) {
            throw refuse(f, ExceptionCode.ILLEGAL_DATA_VALUE, "value", "control word 0x"
                    + Integer.toHexString(v[CONTROL - first]) + " of camera " + st.camera() + " sets bits beyond 2"
                    + " (bit 0 trigger, 1 result-ack, 2 reset-counters)");
        }
        String lot = null;
        if (last >= LOT) {
            int[] regs = Arrays.copyOfRange(holdingRegisters(st), LOT, LOT + LOT_REGISTERS);
            for (int i = Math.max(first, LOT); i <= last; i++) {
                regs[i - LOT] = v[i - first];
            }
            StringBuilder sb = new StringBuilder();
            outer:
            for (int r : regs) {
                for (int c : new int[] {r >> 8, r & 0xFF}) {
                    if (c == 0) {
                        break outer;
                    }
                    sb.append((char) c);
                }
            }
            lot = sb.toString();
            String p = Lots.problem(lot);
            if (p != null) {
                throw refuse(f, ExceptionCode.ILLEGAL_DATA_VALUE, "value", "lot registers of camera " + st.camera()
                        + ": " + p);
            }
        }
        if (first <= NEXT_SEQUENCE + 1 && last >= NEXT_SEQUENCE) {
            long cur = st.signals().nextSequence();
            long hi = first <= NEXT_SEQUENCE ? v[NEXT_SEQUENCE - first] : cur >>> 16;
            long lo = last >= NEXT_SEQUENCE + 1 ? v[NEXT_SEQUENCE + 1 - first] : cur & 0xFFFF;
            st.writeNextSequence(hi << 16 | lo);
        }
        if (lot != null) {
            stations.lots().set(st.camera(), lot);
        }
        if (first <= CONTROL) {
            int w = v[CONTROL - first];
            st.writeResultAck((w & 2) != 0);
            st.writeResetCounters((w & 4) != 0);
            if (st.writeTrigger((w & 1) != 0) == LineStation.Answer.BUSY) {
                throw refuse(f, ExceptionCode.SLAVE_DEVICE_BUSY, "busy", "camera " + st.camera() + ": a trigger"
                        + " while the station is not ready (busy, or its last result not acknowledged)");
            }
        }
    }
}
