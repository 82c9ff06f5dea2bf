package dev.vigil.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.reflect.Constructor;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The configuration's schema, read from the records themselves: key names (as in the file), types, {@link Key}
 * metadata, and defaults (what a record's compact constructor puts in place of a missing value). One walk over it
 * checks a document's keys and types (every problem, with "did you mean"), another a bound configuration's
 * constraints; it also writes the JSON Schema. Nothing about a key is written twice.
 */
public final class Schema {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Map<Class<?>, Object> DEFAULTS = new ConcurrentHashMap<>();

    private Schema() {}

    /** One key of a record: its name in the file, its Java type, its metadata. */
    public record Field(String name, RecordComponent component, Key key) {
        public Class<?> type() {
            return component.getType();
        }

        /** For a list, the element type; else the type. */
        public Class<?> elementType() {
            Type t = component.getGenericType();
            if (t instanceof ParameterizedType pt) {
                return (Class<?>) pt.getActualTypeArguments()[0];
            }
            return type();
        }

        public boolean isList() {
            return List.class.isAssignableFrom(type());
        }

        public boolean isSection() {
            return elementType().isRecord();
        }

        public Object valueOf(Object record) {
            try {
                return component.getAccessor().invoke(record);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }

        /** The value when the key is left out (null when there is none). */
        public Object defaultValue(Class<?> owner) {
            return valueOf(defaults(owner));
        }

        /** The type as the reference and the JSON Schema name it. */
        public String typeName() {
            Class<?> e = elementType();
            String base = e == Integer.class || e == Long.class ? "integer" : e == Double.class ? "number"
                    : e == Boolean.class ? "boolean" : e == String.class ? "text" : "section";
            return isList() ? "list of " + (base.equals("section") ? "sections" : base) : base;
        }
    }

    /** The keys of a configuration record, in file order. */
    public static List<Field> fields(Class<?> record) {
        List<Field> out = new ArrayList<>();
        for (RecordComponent c : record.getRecordComponents()) {
            JsonProperty jp = c.getAccessor().getAnnotation(JsonProperty.class); // (its target is not a component)
            Key k = c.getAnnotation(Key.class);
            if (k == null) {
                throw new IllegalStateException(record.getSimpleName() + "." + c.getName() + " has no @Key");
            }
            out.add(new Field(jp != null && !jp.value().isEmpty() ? jp.value() : c.getName(), c, k));
        }
        return out;
    }

    /** The record with every key left out: its components are the defaults. */
    public static Object defaults(Class<?> record) {
        return DEFAULTS.computeIfAbsent(record, r -> {
            try {
                Class<?>[] types = Arrays.stream(r.getRecordComponents()).map(RecordComponent::getType)
                        .toArray(Class<?>[]::new);
                Constructor<?> ctor = r.getDeclaredConstructor(types);
                ctor.setAccessible(true);
                return ctor.newInstance(new Object[types.length]);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot build the defaults of " + r.getSimpleName(), e);
            }
        });
    }

    // ---- keys and types of a document -------------------------------------------------------------------------

    /** Every unknown key and every value of the wrong type in {@code node}, read as {@code type}. */
    public static List<String> checkDocument(JsonNode node, Class<?> type) {
        List<String> problems = new ArrayList<>();
        check(node, type, "", problems);
        return problems;
    }

    private static void check(JsonNode node, Class<?> type, String path, List<String> problems) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return;
        }
        if (!node.isObject()) {
            problems.add(at(path) + ": " + shown(node) + " is not a section of keys");
            return;
        }
        List<Field> fields = fields(type);
        node.fieldNames().forEachRemaining(name -> {
            Field f = fields.stream().filter(x -> x.name().equals(name)).findFirst().orElse(null);
            String p = path.isEmpty() ? name : path + "." + name;
            if (f == null) {
                List<String> names = fields.stream().map(Field::name).toList();
                String near = nearest(name, names);
                problems.add(p + ": unknown key" + (near != null ? "; did you mean '" + near + "'?" : "")
                        + " (the keys of " + at(path) + " are " + String.join(", ", names) + ")");
                return;
            }
            JsonNode v = node.get(name);
            if (v.isNull()) {
                return;
            }
            if (f.isList()) {
                if (!v.isArray()) {
                    problems.add(p + ": " + shown(v) + " is not a list");
                    return;
                }
                for (int i = 0; i < v.size(); i++) {
                    checkValue(v.get(i), f.elementType(), p + "[" + i + "]", problems);
                }
            } else {
                checkValue(v, f.type(), p, problems);
            }
        });
    }

    private static void checkValue(JsonNode v, Class<?> type, String p, List<String> problems) {
        if (v == null || v.isNull()) {
            return;
        }
        if (type.isRecord()) {
            check(v, type, p, problems);
        } else if (type == Integer.class || type == Long.class) {
            if (!v.isIntegralNumber() || (type == Integer.class && !v.canConvertToInt())) {
                problems.add(p + ": " + shown(v) + " is not a whole number");
            }
        } else if (type == Double.class) {
            if (!v.isNumber()) {
                problems.add(p + ": " + shown(v) + " is not a number");
            }
        } else if (type == Boolean.class) {
            if (!v.isBoolean()) {
                problems.add(p + ": " + shown(v) + " is not true or false");
            }
        } else if (type == String.class && !v.isValueNode()) {
            problems.add(p + ": " + shown(v) + " is not text");
        }
    }

    private static String at(String path) {
        return path.isEmpty() ? "the top level" : path;
    }

    private static String shown(JsonNode v) {
        String s = v.isTextual() ? "'" + v.asText() + "'" : v.isContainerNode() ? (v.isArray() ? "a list" : "a section")
                : v.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

    /**
     * The known name closest to a misspelt one — one or two edits (a swap of neighbours counts as one), another
     * case, or a prefix of it (quota for quotaMb) — else null.
     */
    static String nearest(String name, List<String> known) {
        String n = name.toLowerCase();
        int allowed = n.length() <= 4 ? 1 : 2;
        return known.stream().filter(k -> {
            String l = k.toLowerCase();
            return distance(l, n) <= allowed || (n.length() >= 3 && (l.startsWith(n) || n.startsWith(l)));
        }).min(Comparator.comparingInt(k -> distance(k.toLowerCase(), n))).orElse(null);
    }

    /** Edit distance where swapping two neighbouring letters is one edit (optimal string alignment). */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    // ---- constraints of a bound configuration -----------------------------------------------------------------

    /** Every value outside its key's constraint, and every required key left out, with its key path. */
    public static List<String> checkConstraints(Object record) {
        List<String> problems = new ArrayList<>();
        constraints(record, "", problems, java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>()));
        return problems;
    }

    /**
     * Sections before lists, and each section object once: a camera that inherits the global decision shares its
     * object, so a problem there is reported once, at the key the user wrote.
     */
    private static void constraints(Object record, String path, List<String> problems, java.util.Set<Object> seen) {
        if (!seen.add(record)) {
            return;
        }
        List<Field> ordered = fields(record.getClass()).stream().sorted(Comparator.comparing(Field::isList))
                .toList();
        for (Field f : ordered) {
            String p = path.isEmpty() ? f.name() : path + "." + f.name();
            Object v = f.valueOf(record);
            if (v == null) {
                if (f.key().required()) {
                    problems.add(p + ": missing; " + lower(f.key().doc()));
                }
                continue;
            }
            if (v instanceof List<?> l) {
                for (int i = 0; i < l.size(); i++) {
                    Object e = l.get(i);
                    if (e == null) {
                        problems.add(p + "[" + i + "]: empty entry; remove it or give its keys");
                    } else if (e.getClass().isRecord()) {
                        constraints(e, p + "[" + i + "]", problems, seen);
                    }
                }
            } else if (v.getClass().isRecord()) {
                constraints(v, p, problems, seen);
            } else {
                String why = violation(f.key(), v);
                if (why != null) {
                    problems.add(p + ": " + (v instanceof String ? "'" + v + "'" : v) + " " + why);
                }
            }
        }
    }

    /** Why a value breaks its key's constraint, or null. */
    static String violation(Key k, Object v) {
        if (v instanceof Number n) {
            double d = n.doubleValue();
            boolean lowOk = k.minExclusive() ? d > k.min() : d >= k.min();
            if (!lowOk || d > k.max() || Double.isNaN(d)) {
                return "must be " + range(k);
            }
        } else if (v instanceof String s) {
            if (k.oneOf().length > 0 && !Arrays.asList(k.oneOf()).contains(s)) {
                String near = nearest(s, Arrays.asList(k.oneOf()));
                return "is not one of " + String.join(", ", k.oneOf()) + (near != null ? "; did you mean '" + near
                        + "'?" : "");
            }
            if (!k.pattern().isEmpty() && !Pattern.compile(k.pattern()).matcher(s).matches()) {
                return "must be " + (k.patternDoc().isEmpty() ? "of the form " + k.pattern() : k.patternDoc());
            }
        }
        return null;
    }

    /** The allowed range in words: "between 0 and 1", "1 or more", "above 0 and at most 240". */
    static String range(Key k) {
        boolean lo = k.min() != Double.NEGATIVE_INFINITY;
        boolean hi = k.max() != Double.POSITIVE_INFINITY;
        String min = num(k.min());
        String max = num(k.max());
        if (lo && hi) {
            return k.minExclusive() ? "above " + min + " and at most " + max : "between " + min + " and " + max;
        }
        if (lo) {
            return k.minExclusive() ? "above " + min : min + " or more";
        }
        return hi ? "at most " + max : "a number";
    }

    private static String num(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf((long) d) : String.valueOf(d);
    }

    private static String lower(String doc) {
        return doc.isEmpty() ? doc : Character.toLowerCase(doc.charAt(0)) + doc.substring(1);
    }

    // ---- JSON Schema ------------------------------------------------------------------------------------------

    /** The JSON Schema (draft 2020-12) of {@code vigil.yml}, with descriptions, defaults and constraints. */
    public static ObjectNode jsonSchema() {
        ObjectNode root = section(DeviceConfig.class);
        ObjectNode out = NODES.objectNode();
        out.put("$schema", "https://json-schema.org/draft/2020-12/schema");
        out.put("$id", "urn:vigil:config-schema:" + DeviceConfig.SCHEMA_VERSION);
        out.put("title", "Vigil device configuration (vigil.yml), schemaVersion " + DeviceConfig.SCHEMA_VERSION);
        out.setAll(root);
        return out;
    }

    private static ObjectNode section(Class<?> type) {
        ObjectNode o = NODES.objectNode();
        o.put("type", "object");
        o.put("additionalProperties", false);
        ObjectNode props = o.putObject("properties");
        ArrayNode required = NODES.arrayNode();
        for (Field f : fields(type)) {
            ObjectNode p = f.isList() ? NODES.objectNode() : property(f, type);
            if (f.isList()) {
                p.put("type", "array");
                p.set("items", f.isSection() ? section(f.elementType()) : property(f, type));
            }
            p.put("description", f.key().doc());
            props.set(f.name(), p);
            if (f.key().required()) {
                required.add(f.name());
            }
        }
        if (!required.isEmpty()) {
            o.set("required", required);
        }
        return o;
    }

    private static ObjectNode property(Field f, Class<?> owner) {
        if (f.isSection()) {
            return section(f.elementType());
        }
        ObjectNode p = NODES.objectNode();
        Class<?> t = f.elementType();
        Key k = f.key();
        p.put("type", t == Integer.class || t == Long.class ? "integer" : t == Double.class ? "number"
                : t == Boolean.class ? "boolean" : "string");
        if (k.min() != Double.NEGATIVE_INFINITY) {
            p.put(k.minExclusive() ? "exclusiveMinimum" : "minimum", k.min());
        }
        if (k.max() != Double.POSITIVE_INFINITY) {
            p.put("maximum", k.max());
        }
        if (k.oneOf().length > 0) {
            ArrayNode e = p.putArray("enum");
            Arrays.stream(k.oneOf()).forEach(e::add);
        }
        if (!k.pattern().isEmpty()) {
            p.put("pattern", "^(?:" + k.pattern() + ")$");
        }
        Object d = f.isList() ? null : f.defaultValue(owner);
        if (d != null && !f.name().equals("dir")) {
            p.set("default", ConfigLoader.json().valueToTree(d));
        }
        return p;
    }
}
