package dev.vigil.app.mqtt;

import dev.vigil.core.model.Manifest;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one of a multi-task model's other heads (not the verdict head) said about a part: carried beside the verdict
 * as {@code attributes.<head>} in alerts, inspections and samples (docs/multitask.md).
 *
 * @param label the head's most likely class
 * @param confidence its probability, 0..1
 * @param probabilities every class of the head and its probability, in the head's order
 */
public record Attribute(String label, double confidence, Map<String, Double> probabilities) {
    public Attribute {
        probabilities = probabilities == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(probabilities));
    }

    /** The attributes of one image from its probabilities per head ({@code probs.get(h)} for {@code heads.get(h)}). */
    public static Map<String, Attribute> of(List<Manifest.Head> heads, List<float[]> probs) {
        if (heads.isEmpty()) {
            return null;
        }
        Map<String, Attribute> out = new LinkedHashMap<>();
        for (int h = 0; h < heads.size(); h++) {
            Manifest.Head head = heads.get(h);
            float[] p = probs.get(h);
            Map<String, Double> byClass = new LinkedHashMap<>();
            int best = 0;
            for (int c = 0; c < p.length; c++) {
                byClass.put(c < head.labels().size() ? head.labels().get(c) : "class" + c, round(p[c]));
                if (p[c] > p[best]) {
                    best = c;
                }
            }
            out.put(head.name(), new Attribute(best < head.labels().size() ? head.labels().get(best) : "class" + best,
                    round(p[best]), byClass));
        }
        return Collections.unmodifiableMap(out);
    }

    /** Four decimals: what a dashboard shows, and a payload that stays small. */
    private static double round(float v) {
        return Math.round(v * 1e4) / 1e4;
    }
}
