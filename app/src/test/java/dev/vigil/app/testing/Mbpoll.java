package dev.vigil.app.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Debian's {@code mbpoll}, a real Modbus TCP client, driving a server the way a PLC would: PDU addresses ({@code -0}),
 * one poll at a time ({@code -1}). Missing: the test is skipped with the reason, or fails under {@code CI=true}.
 */
public final class Mbpoll {
    /** Table types as mbpoll numbers them. */
    public static final int COIL = 0;
    public static final int DISCRETE_INPUT = 1;
    public static final int INPUT_REGISTER = 3;
    public static final int HOLDING_REGISTER = 4;
    private static final Pattern VALUE = Pattern.compile("^\\[(\\d+)\\]:\\s+(-?\\d+)", Pattern.MULTILINE);

    private final int port;
    private final int unit;

    public Mbpoll(int port, int unit) {
        this.port = port;
        this.unit = unit;
    }

    /** Skips (or fails under CI=true) when mbpoll is not installed. */
    public static void require() {
        boolean present = new java.io.File("/usr/bin/mbpoll").canExecute()
                || System.getenv("PATH") != null && java.util.Arrays.stream(System.getenv("PATH").split(":"))
                        .anyMatch(d -> new java.io.File(d, "mbpoll").canExecute());
        if (!present && "true".equalsIgnoreCase(System.getenv("CI"))) {
            fail("mbpoll is not installed (apt-get install mbpoll; scripts/test.sh does) and CI=true");
        }
        assumeTrue(present, "mbpoll is not installed (apt-get install mbpoll): Modbus tests skipped");
    }

    /** What one mbpoll run printed, and whether it succeeded. */
    public record Result(int exit, String output) {
        public boolean ok() {
            return exit == 0 && !output.contains("failed");
        }
    }

    /** Reads {@code count} values of table {@code type} from PDU address {@code address}. */
    public int[] read(int type, int address, int count) throws IOException, InterruptedException {
        Result r = run(List.of("-t", Integer.toString(type), "-r", Integer.toString(address), "-c",
                Integer.toString(count)));
        if (!r.ok()) {
            throw new AssertionError("mbpoll read of table " + type + " at " + address + " failed: " + r.output());
        }
        int[] out = new int[count];
        Matcher m = VALUE.matcher(r.output());
        int n = 0;
        while (m.find()) {
            int at = Integer.parseInt(m.group(1)) - address;
            out[at] = Integer.parseInt(m.group(2)) & 0xFFFF;
            n++;
        }
        if (n != count) {
            throw new AssertionError("mbpoll printed " + n + " values, expected " + count + ": " + r.output());
        }
        return out;
    }

    /** Writes {@code values} into table {@code type} (coils or holding registers) from {@code address}. */
    public Result write(int type, int address, int... values) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("-t", Integer.toString(type), "-r", Integer.toString(address)));
        args.add("--"); // values may not be read as options
        for (int v : values) {
            args.add(Integer.toString(v));
        }
        return run(args);
    }

    private Result run(List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("mbpoll", "-m", "tcp", "-a", Integer.toString(unit), "-p",
                Integer.toString(port), "-0", "-1", "-o", "2"));
        int split = args.indexOf("--");
        cmd.addAll(split < 0 ? args : args.subList(0, split));
        cmd.add("127.0.0.1");
        if (split >= 0) {
            cmd.addAll(args.subList(split + 1, args.size()));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("mbpoll did not finish: " + cmd);
        }
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }
}
