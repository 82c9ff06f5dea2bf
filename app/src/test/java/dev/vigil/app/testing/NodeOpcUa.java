package dev.vigil.app.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * npm's {@code node-opcua} as the PLC: runs {@code app/src/test/node/opcua-plc.js} (installed by scripts/test.sh with
 * {@code npm install} in that folder) and returns the JSON it prints. Without node or the package the test is skipped
 * with the reason, or fails under {@code CI=true}.
 */
public final class NodeOpcUa {
    private static final Path DIR = Path.of("src/test/node").toAbsolutePath();

    private NodeOpcUa() {}

    public static void require() {
        boolean node = java.util.Arrays.stream(System.getenv().getOrDefault("PATH", "").split(":"))
                .anyMatch(d -> Files.isExecutable(Path.of(d, "node")));
        boolean pkg = Files.isDirectory(DIR.resolve("node_modules/node-opcua-client"));
        String why = !node ? "node is not installed" : !pkg ? "node-opcua-client is not installed (npm install in "
                + DIR + "; scripts/test.sh does)" : null;
        if (why != null && "true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(why + " and CI=true: OPC UA tests must not be skipped");
        }
        assumeTrue(why == null, why + ": OPC UA tests skipped");
    }

    /** Runs the client script against {@code endpoint} and returns what it printed. */
    public static JsonNode run(String endpoint, String camera, String user, String password, String scenario,
            Map<String, String> env, int timeoutSeconds) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("node", DIR.resolve("opcua-plc.js").toString(), endpoint, camera,
                user, password, scenario));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(DIR.toFile()).redirectErrorStream(false);
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the node-opcua client did not finish in " + timeoutSeconds + " s");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        // node-opcua logs a few lines of its own on stdout; the result is the one JSON line
        String last = out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElse("");
        if (!last.startsWith("{")) {
            throw new AssertionError("the node-opcua client printed no result (exit " + p.exitValue() + "): " + out
                    + "\n" + err);
        }
        JsonNode r = new ObjectMapper().readTree(last);
        if (r.has("error")) {
            throw new AssertionError("the node-opcua client failed: " + r.get("error").asText() + "\n" + err);
        }
        return r;
    }
}
