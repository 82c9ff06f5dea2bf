package dev.vigil.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/** Reads {@code vigil.yml}: unknown keys and wrong types are errors naming the key path; then validates. */
public final class ConfigLoader {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    private ConfigLoader() {}

    public static DeviceConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file.toString(), List.of("the file does not exist; give the path of vigil.yml"));
        } catch (IOException e) {
            throw new ConfigException(file.toString(), List.of("cannot be read: " + e.getMessage()));
        }
        return parse(text, file.toString());
    }

    /** Parses and validates YAML text; {@code source} names it in errors. */
    public static DeviceConfig parse(String yaml, String source) {
        DeviceConfig c;
        try {
            c = yaml.isBlank() ? DeviceConfig.defaults() : YAML.readValue(yaml, DeviceConfig.class);
        } catch (UnrecognizedPropertyException e) {
            String known = e.getKnownPropertyIds() == null ? "" : e.getKnownPropertyIds().stream().map(Object::toString)
                    .sorted().collect(Collectors.joining(", "));
            throw new ConfigException(source, List.of(path(e) + ": unknown key; the keys here are " + known));
        } catch (JsonMappingException e) {
            throw new ConfigException(source, List.of(path(e) + ": " + e.getOriginalMessage().split("\n")[0]));
        } catch (JsonProcessingException e) {
            throw new ConfigException(source, List.of("not valid YAML: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")")));
        }
        if (c == null) {
            c = DeviceConfig.defaults();
        }
        List<String> problems = c.problems();
        if (!problems.isEmpty()) {
            throw new ConfigException(source, problems);
        }
        return c;
    }

    public static String toYaml(DeviceConfig c) {
        try {
            return YAML.writeValueAsString(c);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
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
