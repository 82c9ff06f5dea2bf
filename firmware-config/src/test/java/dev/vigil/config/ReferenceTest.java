package dev.vigil.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The reference in docs/ is the one the code generates, its examples are valid, the JSON Schema has every key. */
class ReferenceTest {
    private static final Path DOC = Path.of("..", "docs", "configuration.md");

    @Test
    void docsConfigurationMdIsGeneratedFromTheCode() throws Exception {
        assertEquals(ConfigReference.markdown(), Files.readString(DOC), "docs/configuration.md is stale: run"
                + " ./vigil config docs > docs/configuration.md");
    }

    @Test
    void everyYamlBlockInTheDocsIsValid() throws Exception {
        List<Path> docs = List.of(DOC, Path.of("..", "docs", "service.md"), Path.of("..", "README.md"));
        int blocks = 0;
        for (Path d : docs) {
            Matcher m = Pattern.compile("```yaml\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(d));
            while (m.find()) {
                ConfigLoader.parse(m.group(1), d + " block " + ++blocks);
            }
        }
        assertTrue(blocks >= ConfigReference.EXAMPLES.size(), blocks + " blocks");
    }

    @Test
    void theJsonSchemaDescribesEveryKey() {
        JsonNode schema = Schema.jsonSchema();
        List<String> missing = new ArrayList<>();
        walk(DeviceConfig.class, schema, "", missing);
        assertEquals(List.of(), missing);
        JsonNode roi = schema.at("/properties/cameras/items/properties/roi");
        assertEquals("[\"x\",\"y\",\"width\",\"height\"]", roi.get("required").toString());
        assertEquals(240.0, schema.at("/properties/cameras/items/properties/source/properties/fps/maximum")
                .asDouble());
        assertEquals("auto", schema.at("/properties/inference/properties/device/default").asText());
    }

    private static void walk(Class<?> type, JsonNode node, String path, List<String> missing) {
        for (Schema.Field f : Schema.fields(type)) {
            JsonNode p = node.path("properties").path(f.name());
            if (p.isMissingNode() || !p.has("description")) {
                missing.add(path + f.name());
                continue;
            }
            if (f.isSection()) {
                walk(f.elementType(), f.isList() ? p.get("items") : p, path + f.name() + ".", missing);
            }
        }
    }
}
