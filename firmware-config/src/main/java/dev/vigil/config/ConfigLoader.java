package dev.vigil.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads {@code vigil.yml} through the one path every configuration takes: YAML → document → migrated to the current
 * {@code schemaVersion} → keys and types checked (all problems, "did you mean") → camera defaults merged in → bound to
 * {@link DeviceConfig} → validated ({@link ConfigValidator}: constraints and cross-field rules). Anything wrong is a
 * {@link ConfigException} that lists every problem with its key path.
 */
public final class ConfigLoader {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES))
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .setSerializationInclusion(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL);

    /**
     * A configuration as read: the document (migrated, as the user wrote it otherwise), the version it was written
     * in, the migration steps applied, and the bound, valid configuration.
     */
    public record Loaded(ObjectNode document, int writtenVersion, List<String> migrations, DeviceConfig config) {}

    private ConfigLoader() {}

    public static ObjectMapper yaml() {
        return YAML;
    }

    public static ObjectMapper json() {
        return JSON;
    }

    /** Reads, migrates and validates a file. */
    public static Loaded read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file.toString(), List.of("the file does not exist; give the path of vigil.yml"));
        } catch (IOException e) {
            throw new ConfigException(file.toString(), List.of("cannot be read: " + e.getMessage()));
        }
        return read(text, file.toString());
    }

    /** Reads, migrates and validates YAML (or JSON) text; {@code source} names it in errors. */
    public static Loaded read(String text, String source) {
        ObjectNode doc = document(text, source);
        int written = Migrations.version(doc);
        List<String> steps = Migrations.migrate(doc, source);
        return new Loaded(doc, written, steps, bind(doc, source));
    }

    public static DeviceConfig load(Path file) {
        return read(file).config();
    }

    /** Parses and validates YAML text; {@code source} names it in errors. */
    public static DeviceConfig parse(String yaml, String source) {
        return read(yaml, source).config();
    }

    /** YAML or JSON text as a document (an empty text is an empty document: every default). */
    public static ObjectNode document(String text, String source) {
        if (text.isBlank()) {
            return JsonNodeFactory.instance.objectNode();
        }
        JsonNode n;
        try {
            n = YAML.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ConfigException(source, List.of("not valid YAML: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column "
                            + e.getLocation().getColumnNr() + ")")));
        }
        if (n == null || n.isNull() || n.isMissingNode()) {
            return JsonNodeFactory.instance.objectNode();
        }
        if (!n.isObject()) {
            throw new ConfigException(source, List.of("the top level must be a section of keys (schemaVersion:,"
                    + " device:, cameras:, ...), found " + n.getNodeType().toString().toLowerCase()));
        }
        return (ObjectNode) n;
    }

    /**
     * Checks a current-version document and binds it: keys and types first (every problem at once), then the
     * cameras' inherited keys merged in, then constraints and cross-field rules.
     */
    public static DeviceConfig bind(ObjectNode doc, String source) {
        List<String> problems = new ArrayList<>(Schema.checkDocument(doc, DeviceConfig.class));
        if (!problems.isEmpty()) {
            // every problem at once: the values' own rules too, checked on the document without the keys above
            problems.addAll(valueProblemsWithout(doc, problems));
            throw new ConfigException(source, problems);
        }
        DeviceConfig c;
        try {
            c = JSON.treeToValue(effective(doc), DeviceConfig.class);
        } catch (JsonMappingException e) {
            throw new ConfigException(source, List.of(path(e) + ": " + e.getOriginalMessage().split("\n")[0]));
        } catch (JsonProcessingException e) {
            throw new ConfigException(source, List.of(e.getOriginalMessage()));
        }
        if (c == null) {
            c = DeviceConfig.defaults();
        }
        problems = c.problems();
        if (!problems.isEmpty()) {
            throw new ConfigException(source, problems);
        }
        return c;
    }

    /**
     * The constraint and cross-field problems of {@code doc} once the keys named by {@code keyProblems} (unknown keys,
     * values of the wrong type: "path: ...") are left out; none when it still cannot be bound. A rule about a key
     * that was left out is not repeated.
     */
    private static List<String> valueProblemsWithout(ObjectNode doc, List<String> keyProblems) {
        ObjectNode copy = doc.deepCopy();
        List<String> removed = new ArrayList<>();
        for (String p : keyProblems) {
            int colon = p.indexOf(": ");
            if (colon > 0) {
                String path = p.substring(0, colon);
                removeAt(copy, path);
                removed.add(path);
            }
        }
        try {
            DeviceConfig c = JSON.treeToValue(effective(copy), DeviceConfig.class);
            if (c == null) {
                return List.of();
            }
            return c.problems().stream().filter(q -> removed.stream().noneMatch(r -> q.startsWith(r + ":")
                    || q.startsWith(r + ".") || q.startsWith(r + "["))).toList();
        } catch (JsonProcessingException | RuntimeException e) {
            return List.of();
        }
    }

    /** Removes the node at {@code path} ({@code a.b[0].c}) from {@code root}, if it is there. */
    static void removeAt(ObjectNode root, String path) {
        String[] parts = path.split("\\.");
        JsonNode node = root;
        for (int i = 0; i < parts.length && node != null; i++) {
            String part = parts[i];
            int bracket = part.indexOf('[');
            String name = bracket < 0 ? part : part.substring(0, bracket);
            boolean last = i == parts.length - 1;
            if (bracket < 0) {
                if (last && node instanceof ObjectNode o) {
                    o.remove(name);
                    return;
                }
                node = node.get(name);
                continue;
            }
            JsonNode list = node.get(name);
            int index;
            try {
                index = Integer.parseInt(part.substring(bracket + 1, part.indexOf(']')));
            } catch (RuntimeException e) {
                return;
            }
            if (last && list instanceof com.fasterxml.jackson.databind.node.ArrayNode a && index < a.size()) {
                a.remove(index);
                return;
            }
            node = list == null ? null : list.get(index);
        }
    }

    /**
     * The document with every camera's inherited keys filled in, key by key: {@code cameraDefaults} under each
     * camera, and the global {@code decision} under each camera's decision.
     */
    static ObjectNode effective(ObjectNode doc) {
        ObjectNode out = doc.deepCopy();
        if (!(out.get("cameras") instanceof ArrayNode cams)) {
            return out;
        }
        ObjectNode defaults = out.get("cameraDefaults") instanceof ObjectNode d ? d : JsonNodeFactory.instance
                .objectNode();
        JsonNode global = out.get("decision");
        for (int i = 0; i < cams.size(); i++) {
            if (!(cams.get(i) instanceof ObjectNode cam)) {
                continue;
            }
            ObjectNode merged = defaults.deepCopy();
            merge(merged, cam);
            if (global instanceof ObjectNode g && merged.has("decision")) {
                ObjectNode dec = g.deepCopy();
                merge(dec, merged.get("decision"));
                merged.set("decision", dec);
            }
            cams.set(i, merged);
        }
        return out;
    }

    /**
     * JSON merge patch (RFC 7386) of {@code patch} into {@code target}: sections merge key by key, a null removes a
     * key (back to its default), anything else replaces.
     */
    public static void merge(ObjectNode target, JsonNode patch) {
        if (!(patch instanceof ObjectNode p)) {
            return;
        }
        p.fields().forEachRemaining(e -> {
            JsonNode v = e.getValue();
            if (v.isNull()) {
                target.remove(e.getKey());
            } else if (v.isObject() && target.get(e.getKey()) instanceof ObjectNode t) {
                merge(t, v);
            } else {
                target.set(e.getKey(), v.deepCopy());
            }
        });
    }

    /** A document as YAML text, the way snapshots and migrated files are written. */
    public static String toYaml(JsonNode doc) {
        try {
            return YAML.writeValueAsString(doc);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A bound configuration (every default spelled out) as YAML. */
    public static String toYaml(DeviceConfig c) {
        return toYaml(JSON.valueToTree(c));
    }

    private static String path(JsonMappingException e) {
        StringBuilder b = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getIndex() >= 0) {
                b.append('[').append(r.getIndex()).append(']');
            } else if (r.getFieldName() != null) {
                b.append(b.length() == 0 ? "" : ".").append(r.getFieldName());
            }
        }
        return b.length() == 0 ? "(top level)" : b.toString();
    }
}
