package dev.vigil.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a configuration document of an older {@code schemaVersion} into the current one, one version at a time. Each
 * step is small, says what it did, and never loses a value: a key that moved keeps its value at the new place. A
 * document without {@code schemaVersion} is read as version 1 (the first format had it optional).
 */
public final class Migrations {
    /** One step: from version {@code from} to {@code from + 1}. */
    interface Step {
        int from();

        /** Changes the document in place; returns what it did, one line per change. */
        List<String> apply(ObjectNode doc);
    }

    private static final List<Step> STEPS = List.of(new V1ToV2());

    private Migrations() {}

    /** The version a document declares (1 when it says nothing). */
    public static int version(JsonNode doc) {
        JsonNode v = doc.get("schemaVersion");
        return v == null || v.isNull() ? 1 : v.isIntegralNumber() ? v.asInt() : -1;
    }

    /**
     * Migrates {@code doc} in place to {@link DeviceConfig#SCHEMA_VERSION}; returns the changes made (empty when it
     * was current). Refuses a document newer than this Vigil knows, or with a version that is not a whole number.
     */
    public static List<String> migrate(ObjectNode doc, String source) {
        int v = version(doc);
        if (v < 1) {
            throw new ConfigException(source, List.of("schemaVersion: " + doc.get("schemaVersion")
                    + " is not a version number; this Vigil reads 1 to " + DeviceConfig.SCHEMA_VERSION));
        }
        if (v > DeviceConfig.SCHEMA_VERSION) {
            throw new ConfigException(source, List.of("schemaVersion: " + v + " is newer than this Vigil knows (it"
                    + " reads 1 to " + DeviceConfig.SCHEMA_VERSION + "); upgrade Vigil, or restore a configuration"
                    + " snapshot written by this version"));
        }
        List<String> changes = new ArrayList<>();
        for (Step s : STEPS) {
            if (s.from() == v) {
                for (String c : s.apply(doc)) {
                    changes.add("v" + v + " -> v" + (v + 1) + ": " + c);
                }
                v++;
                doc.put("schemaVersion", v);
                if (changes.isEmpty() || !changes.get(changes.size() - 1).startsWith("v" + (v - 1))) {
                    changes.add("v" + (v - 1) + " -> v" + v + ": schemaVersion only");
                }
            }
        }
        return changes;
    }

    /** Version 2 gave inference its own section: {@code model.device} became {@code inference.device}. */
    static final class V1ToV2 implements Step {
        @Override
        public int from() {
            return 1;
        }

        @Override
        public List<String> apply(ObjectNode doc) {
            List<String> out = new ArrayList<>();
            if (doc.get("model") instanceof ObjectNode model && model.has("device")) {
                JsonNode device = model.remove("device");
                ObjectNode inference = doc.get("inference") instanceof ObjectNode i ? i : doc.putObject("inference");
                if (!inference.has("device")) {
                    inference.set("device", device);
                }
                out.add("model.device moved to inference.device (" + device + ")");
            }
            return out;
        }
    }
}
