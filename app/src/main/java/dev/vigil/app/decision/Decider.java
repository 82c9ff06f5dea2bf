package dev.vigil.app.decision;

import dev.vigil.app.inference.LoadedModel;
import dev.vigil.config.DeviceConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The decide stage: a frame's class probabilities become a {@link Decision} by its camera's rule (thresholds of the
 * model and of {@code decision} / the camera's own {@code decision}), then the camera's {@link Consensus} over its
 * last frames. Rules are rebuilt whenever the model or the configuration changes; a camera's consensus restarts when
 * its decision settings change.
 */
public final class Decider implements dev.vigil.config.Reconfigurable {
    /** The decision on one frame: {@code raw} is the rule's verdict alone, {@code decision} the one after consensus. */
    public record Judged(Verdict raw, Decision decision) {}

    private final Map<String, Consensus> consensus = new ConcurrentHashMap<>();
    private final java.util.function.Supplier<LoadedModel> model;
    private volatile Map<String, DecisionPolicy> policies = Map.of();

    /** @param model the model in service (null in collect mode), whose rules a configuration change rebuilds */
    public Decider(DeviceConfig config, java.util.function.Supplier<LoadedModel> model) {
        this.model = model;
        config.cameras().forEach(c -> consensus.put(c.id(), new Consensus(c.decision().consensus())));
    }

    /** Rebuilds every camera's rule for {@code model} under {@code config}. */
    public void model(LoadedModel model, DeviceConfig config) {
        Map<String, DecisionPolicy> out = new LinkedHashMap<>();
        for (DeviceConfig.Camera cam : config.cameras()) {
            out.put(cam.id(), DecisionPolicy.of(model.labels(), model.modelPackage().okIndex(),
                    model.modelPackage().defectThreshold(), cam.decision()));
        }
        policies = Map.copyOf(out);
    }

    /**
     * Applies a configuration change: cameras removed or added, consensus restarted where the decision settings
     * changed, rules rebuilt for the model in service.
     */
    @Override
    public void reconfigure(DeviceConfig old, DeviceConfig next, Report report) {
        if (changed(old, next)) {
            report.hot("decision");
        }
    }

    private boolean changed(DeviceConfig old, DeviceConfig next) {
        LoadedModel model = this.model.get();
        boolean changed = !old.decision().equals(next.decision());
        for (DeviceConfig.Camera c : old.cameras()) {
            if (next.camera(c.id()).isEmpty()) {
                consensus.remove(c.id());
            }
        }
        for (DeviceConfig.Camera c : next.cameras()) {
            DeviceConfig.Camera was = old.camera(c.id()).orElse(null);
            if (was == null || !was.decision().equals(c.decision())) {
                consensus.put(c.id(), new Consensus(c.decision().consensus()));
                changed |= was != null;
            }
        }
        if (model != null) {
            model(model, next);
        }
        return changed;
    }

    /** Restarts {@code camera}'s consensus (the camera itself was restarted). */
    public void reset(DeviceConfig.Camera camera) {
        consensus.put(camera.id(), new Consensus(camera.decision().consensus()));
    }

    /** The decision on {@code camera}'s frame; null when the camera has no rule (removed by a change meanwhile). */
    public Judged judge(String camera, float[] probabilities) {
        DecisionPolicy rule = policies.get(camera);
        Consensus vote = consensus.get(camera);
        if (rule == null || vote == null) {
            return null;
        }
        Decision d = rule.decide(probabilities);
        Verdict v = vote.add(d.verdict());
        return new Judged(d.verdict(), new Decision(v, d.label(), d.confidence(), d.defectScore(), d.probabilities()));
    }
}
