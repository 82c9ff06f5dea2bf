package dev.vigil.app.samples;

import dev.vigil.app.capture.CapturedFrame;
import dev.vigil.app.decision.Decision;
import dev.vigil.app.decision.Verdict;
import dev.vigil.app.inference.LoadedModel;
import dev.vigil.core.model.DefectMap;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;
import org.opencv.core.MatOfByte;
import org.opencv.core.MatOfInt;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * The flag stage: a frame the {@link FlagPolicy} picked (a defect, an unsure verdict, an audit, or anything in collect
 * mode) is JPEG-encoded and handed to the {@link SampleStore} with its decision and defect map, for the labelling
 * page. A frame that cannot be stored is logged and counted ({@code vigil.samples.failed}); inspection goes on.
 */
public final class FlaggedFrames {
    private static final System.Logger LOG = System.getLogger(FlaggedFrames.class.getName());
    private final SampleStore store;
    private final IntSupplier jpegQuality;
    private final MeterRegistry metrics;

    /** @param jpegQuality the configured {@code storage.jpegQuality}, read for every frame (it may change) */
    public FlaggedFrames(SampleStore store, IntSupplier jpegQuality, MeterRegistry metrics) {
        this.store = store;
        this.jpegQuality = jpegQuality;
        this.metrics = metrics;
    }

    /**
     * Stores {@code f} as a sample; {@code m}, {@code d} and {@code map} are null in collect mode. Returns the sample,
     * or null when it could not be stored.
     */
    public Sample flag(CapturedFrame f, String reason, LoadedModel m, Decision d, DefectMap map) {
        return flag(f, reason, m, d, map, null);
    }

    /** The same with what a multi-task model's other heads said ({@code attributes}; null for one head). */
    public Sample flag(CapturedFrame f, String reason, LoadedModel m, Decision d, DefectMap map,
            java.util.Map<String, dev.vigil.app.mqtt.Attribute> attributes) {
        return flag(f, reason, m, d, map, attributes, null);
    }

    /**
     * The same with the frame's embedding ({@link LoadedModel.Inference#embedding}; null when the model gives none),
     * stored beside the sample for {@code GET /api/samples/{id}/similar}.
     */
    public Sample flag(CapturedFrame f, String reason, LoadedModel m, Decision d, DefectMap map,
            java.util.Map<String, dev.vigil.app.mqtt.Attribute> attributes, float[] embedding) {
        MatOfByte jpeg = new MatOfByte();
        try {
            Imgcodecs.imencode(".jpg", f.image(), jpeg, new MatOfInt(Imgcodecs.IMWRITE_JPEG_QUALITY,
                    jpegQuality.getAsInt()));
            List<Double> probs = new ArrayList<>();
            if (d != null) {
                for (float p : d.probabilities()) {
                    probs.add((double) p);
                }
            }
            return store.add(f.cameraId(), f.capturedAt(), jpeg.toArray(), reason, m == null ? null : m.id(),
                    d == null ? Verdict.UNCLASSIFIED.id() : d.verdict().id(), d == null ? null : d.label(),
                    d == null ? 0 : d.confidence(), m == null ? null : m.labels(), probs, f.sourceName(), map,
                    attributes, m == null ? null : embedding);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "could not store a flagged frame of " + f.cameraId() + ": "
                    + e.getMessage());
            metrics.counter("vigil.samples.failed").increment();
            return null;
        } finally {
            jpeg.release();
        }
    }
}
