package dev.vigil.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.Iterator;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Masks the password of every {@code scheme://user:password@host} in text shown to anyone — health, status, MQTT,
 * logs, {@code /api/config} — as {@code scheme://user:***@host}. The one place that knows what a credential in a URL
 * looks like.
 */
public final class Redact {
    private static final Pattern CREDENTIALS = Pattern.compile("(\\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\\s:@]+):[^@\\s/]*@");

    private Redact() {}

    /** {@code text} with every password inside a URL replaced by {@code ***}; null stays null. */
    public static String text(String text) {
        return text == null ? null : CREDENTIALS.matcher(text).replaceAll("$1:***@");
    }

    /** A copy of {@code node} with {@link #text} applied to every string in it. */
    public static JsonNode json(JsonNode node) {
        if (node == null) {
            return null;
        }
        if (node.isTextual()) {
            String t = text(node.asText());
            return t.equals(node.asText()) ? node : TextNode.valueOf(t);
        }
        if (node.isObject()) {
            ObjectNode o = ((ObjectNode) node).deepCopy();
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                o.set(e.getKey(), json(e.getValue()));
            }
            return o;
        }
        if (node.isArray()) {
            ArrayNode a = ((ArrayNode) node).deepCopy();
            for (int i = 0; i < node.size(); i++) {
                a.set(i, json(node.get(i)));
            }
            return a;
        }
        return node;
    }
}
