package dev.vigil.config;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Writes {@code docs/configuration.md} from the records: every key with its type, default, allowed values, how a
 * change takes effect, and its description, then worked examples (which a test validates). A test compares the file
 * with this output, so the reference cannot drift from the code: regenerate it with
 * {@code ./vigil config docs > docs/configuration.md}.
 */
public final class ConfigReference {
    /** The example configurations, in {@code src/main/resources/dev/vigil/config/examples/}. */
    public static final List<String> EXAMPLES = List.of("minimal.yml", "line-camera.yml", "two-cameras.yml");

    private ConfigReference() {}

    public static String markdown() {
        StringBuilder b = new StringBuilder();
        b.append("# Configuration reference (`vigil.yml`)\n\n");
        b.append("<!-- Generated from firmware-config/src/main/java/dev/vigil/config/DeviceConfig.java by"
                + " `./vigil config docs`; a test fails when this file and the code disagree. -->\n\n");
        b.append("The device configuration is one YAML file, `schemaVersion: ").append(DeviceConfig.SCHEMA_VERSION)
                .append("`. Every key is optional unless marked *required*; a key left out takes the default below."
                        + " An unknown key is an error (with a suggestion for a near miss), and every problem of a"
                        + " file is reported at once with its key path, the bad value and the rule, e.g."
                        + " `cameras[1].roi.width: 5000 is larger than the frame width 1920`.\n\n");
        b.append("- **Check a file**: `./vigil config validate vigil.yml` (exit 0 when valid, 1 with the list of"
                + " problems).\n"
                + "- **JSON Schema** for editors and fleet tooling: `./vigil config schema > vigil.schema.json`.\n"
                + "- **Older files** are migrated one version at a time: `./vigil config migrate vigil.yml` writes the"
                + " current format after keeping `vigil.yml.v<N>.bak`; the service does the same at start. A file"
                + " newer than the running Vigil is refused with a plain message.\n"
                + "- **Secrets** never go in the file: the broker password comes from an environment variable"
                + " (`mqtt.passwordEnv`) or a file (`mqtt.passwordFile`).\n"
                + "- **Cameras inherit**: a camera's keys left out come from `cameraDefaults`, key by key, and its"
                + " `decision` from the global `decision`, its `flagsPerHour` from `storage.flagsPerHour`.\n"
                + "- **Remote changes** (`PUT /api/config`, MQTT `vigil/<device>/config/set`), snapshots and rollback:"
                + " see [service.md](service.md#configuration-changes). *Applies* below says how a change takes"
                + " effect in a running service: **hot** (at once), **camera** (that camera restarts), **restart**"
                + " (written now, in force at the next start).\n\n");
        b.append("Version history: 1 — first format; 2 — `model.device` moved to `inference.device`,"
                + " `cameraDefaults`, per-camera `settings`, `decision` and `flagsPerHour`, `decision.defectThreshold`"
                + " and `okBelow`, `mqtt.passwordFile`, `changes`.\n\n");
        section(b, DeviceConfig.class, "", "Top level");
        b.append("## Examples\n\nEach example is validated by the test suite.\n\n");
        for (String e : EXAMPLES) {
            b.append("### `").append(e).append("`\n\n```yaml\n").append(example(e)).append("```\n\n");
        }
        return b.toString();
    }

    /** The text of an example configuration. */
    public static String example(String name) {
        try (InputStream in = ConfigReference.class.getResourceAsStream("examples/" + name)) {
            if (in == null) {
                throw new IllegalStateException("example " + name + " is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void section(StringBuilder b, Class<?> type, String path, String title) {
        List<Schema.Field> fields = Schema.fields(type);
        b.append("## ").append(title).append("\n\n");
        b.append("| key | type | default | allowed | applies | description |\n");
        b.append("|---|---|---|---|---|---|\n");
        for (Schema.Field f : fields) {
            String p = path + f.name() + (f.isList() ? "[]" : "");
            Key k = f.key();
            String def = f.isSection() ? "" : k.required() ? "*required*" : shown(f, type);
            String allowed = k.oneOf().length > 0 ? String.join(", ", k.oneOf())
                    : !k.pattern().isEmpty() ? (k.patternDoc().isEmpty() ? "`" + k.pattern() + "`" : k.patternDoc())
                    : (f.elementType() == Integer.class || f.elementType() == Long.class
                            || f.elementType() == Double.class) && (k.min() != Double.NEGATIVE_INFINITY
                                    || k.max() != Double.POSITIVE_INFINITY) ? Schema.range(k) : "";
            b.append("| `").append(p).append("` | ").append(f.typeName()).append(" | ").append(def).append(" | ")
                    .append(allowed.replace("|", "\\|")).append(" | ").append(f.isSection() ? "" : k.applies()).append(" | ")
                    .append(k.doc().replace("|", "\\|")).append(" |\n");
        }
        b.append('\n');
        if (type == DeviceConfig.CameraDefaults.class) {
            b.append("Their keys are those of the same sections under `cameras[]`.\n\n");
            return;
        }
        for (Schema.Field f : fields) {
            if (f.isSection()) {
                String p = path + f.name() + (f.isList() ? "[]" : "");
                section(b, f.elementType(), p + ".", "`" + p + "`");
            }
        }
    }

    private static String shown(Schema.Field f, Class<?> owner) {
        if (owner == DeviceConfig.Storage.class && f.name().equals("dir")) {
            return "`~/.local/share/vigil`";
        }
        Object d = f.isList() ? null : f.defaultValue(owner);
        if (d == null) {
            return "–";
        }
        return "`" + d + "`";
    }
}
