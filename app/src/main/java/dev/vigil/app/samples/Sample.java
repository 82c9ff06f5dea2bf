package dev.vigil.app.samples;

import java.time.Instant;
import java.util.List;

/**
 * One flagged frame in the sample store: the JPEG on disk plus what the service knew when it flagged it.
 *
 * @param id stable id ({@code s<millis>-<hex>}), safe in paths and URLs
 * @param file the JPEG, relative to the store's folder
 * @param reason why it was flagged: {@code defect}, {@code uncertain}, {@code audit} (random share of ok frames) or
 *     {@code collect} (no model yet)
 * @param modelId the model that judged it, null in collect mode
 * @param verdict the service's verdict ({@code ok}, {@code defect}, {@code uncertain}, {@code unclassified})
 * @param label the model's most likely class, null in collect mode
 * @param probabilities the model's class probabilities in the order of {@code labels}
 * @param assignedLabel the operator's label, null until labelled
 * @param source what the camera's source called the frame (a file name, a frame number), may be null
 * @param bytes size on disk of the JPEG, the heatmap, the embedding and (once made) the thumbnail: what the quota
 *     counts
 * @param heatmap the model's defect map stored beside the JPEG; null when the model had none (or in collect mode)
 * @param attributes what a multi-task model's other heads said (by head name); null for a single classifier
 * @param assignedAttributes the operator's class per other head (by head name; a head not set is absent)
 */
public record Sample(String id, String camera, Instant time, String file, long bytes, String reason, String modelId,
        String verdict, String label, double confidence, List<String> labels, List<Double> probabilities,
        String assignedLabel, String source, SampleHeatmap heatmap,
        java.util.Map<String, dev.vigil.app.mqtt.Attribute> attributes, java.util.Map<String, String> assignedAttributes) {
    public Sample {
        labels = labels == null ? List.of() : List.copyOf(labels);
        probabilities = probabilities == null ? List.of() : List.copyOf(probabilities);
        assignedAttributes = assignedAttributes == null ? java.util.Map.of()
                : java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(assignedAttributes));
    }

    public Sample(String id, String camera, Instant time, String file, long bytes, String reason, String modelId,
            String verdict, String label, double confidence, List<String> labels, List<Double> probabilities,
            String assignedLabel, String source, SampleHeatmap heatmap) {
        this(id, camera, time, file, bytes, reason, modelId, verdict, label, confidence, labels, probabilities,
                assignedLabel, source, heatmap, null, null);
    }

    /**
     * The classes head {@code head} can take on this sample (from what the model's head said), empty when the model
     * that judged it has no such head.
     */
    public List<String> headClasses(String head) {
        var a = attributes == null ? null : attributes.get(head);
        return a == null ? List.of() : List.copyOf(a.probabilities().keySet());
    }
}
