package dev.vigil.trainer.features;

import dev.vigil.core.VigilException;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.core.image.ImageIo;
import dev.vigil.trainer.data.LabelledImage;
import dev.vigil.core.image.Variant;
import dev.vigil.core.Hashing;
import dev.vigil.trainer.util.Progress;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Computes (or reads from the cache) the prefix features of every image and variant. Unreadable images are skipped
 * with a warning and counted, never fatal. When the set's cut maps would exceed {@link FeatureMemory}'s budget they
 * stay in the cache files and are streamed back for each batch, so memory does not grow with the image count.
 */
public final class FeatureStore {
    private static final int BATCH = 8;

    private FeatureStore() {}

    /**
     * @param kept the images that could be read, in input order
     * @param sha content hash of each kept image
     * @param features per kept image, per variant
     * @param forwardSeconds wall time spent running the prefix (per variant: index = variant position)
     */
    public record Extracted(List<LabelledImage> kept, List<String> sha, Features[][] features, int skipped,
            int fromCache, double[] forwardSeconds, long[] cutShape) {

        /**
         * The images at {@code images} (indices into {@link #kept()}) with the variants at {@code variants} (indices
         * into the variants this set was extracted with); the features are shared, not copied.
         */
        public Extracted select(int[] images, int[] variants) {
            List<LabelledImage> k = new ArrayList<>(images.length);
            List<String> s = new ArrayList<>(images.length);
            Features[][] f = new Features[images.length][];
            for (int i = 0; i < images.length; i++) {
                k.add(kept.get(images[i]));
                s.add(sha.get(images[i]));
                Features[] row = new Features[variants.length];
                for (int v = 0; v < variants.length; v++) {
                    row[v] = features[images[i]][variants[v]];
                }
                f[i] = row;
            }
            double[] seconds = new double[variants.length];
            for (int v = 0; v < variants.length; v++) {
                seconds[v] = variants[v] < forwardSeconds.length ? forwardSeconds[variants[v]] : 0;
            }
            return new Extracted(k, s, f, 0, 0, seconds, cutShape);
        }

        /** Both sets' images, this one's first; they must have the same variants. */
        public Extracted plus(Extracted other) {
            if (features.length > 0 && other.features.length > 0 && features[0].length != other.features[0].length) {
                throw new IllegalArgumentException("feature sets with " + features[0].length + " and "
                        + other.features[0].length + " variants per image");
            }
            List<LabelledImage> images = new ArrayList<>(kept);
            images.addAll(other.kept);
            List<String> shas = new ArrayList<>(sha);
            shas.addAll(other.sha);
            Features[][] f = java.util.Arrays.copyOf(features, features.length + other.features.length);
            System.arraycopy(other.features, 0, f, features.length, other.features.length);
            double[] seconds = forwardSeconds.clone();
            for (int i = 0; i < Math.min(seconds.length, other.forwardSeconds.length); i++) {
                seconds[i] += other.forwardSeconds[i];
            }
            return new Extracted(images, shas, f, skipped + other.skipped, fromCache + other.fromCache, seconds,
                    cutShape != null ? cutShape : other.cutShape);
        }
    }

    public static Extracted extract(Backbone backbone, FeatureSpec spec, List<LabelledImage> images,
            List<Variant> variants, Path cacheRoot, PrintStream log, String label) {
        boolean rawInput = spec.cut().equals(backbone.anatomy().input());
        FeatureCache cache = cacheRoot == null || rawInput ? null : new FeatureCache(cacheRoot, spec);
        List<LabelledImage> kept = new ArrayList<>();
        List<String> shas = new ArrayList<>();
        List<Features[]> feats = new ArrayList<>();
        double[] forward = new double[variants.size()];
        int skipped = 0;
        int cached = 0;
        int per = spec.preprocessing().valuesPerImage();
        Streaming streaming = new Streaming(cache, (long) images.size() * variants.size(), log);
        // the image input as the cut (--unfreeze all): beyond the budget, inputs are decoded again for every batch
        boolean streamInputs = rawInput && spec.needsCutMap()
                && FeatureMemory.mustStream((long) images.size() * variants.size(), per, 4);
        if (streamInputs) {
            log.printf("features: %d inputs of %.1f MB exceed the memory budget of %d MB; decoding them from the image"
                    + " files for every batch%n", (long) images.size() * variants.size(), per * 4 / 1e6,
                    FeatureMemory.budgetBytes() >> 20);
        }
        try (FeatureExtractor fx = rawInput ? null : new FeatureExtractor(backbone, spec);
                Progress progress = new Progress(log, label, (long) images.size() * variants.size())) {
            List<float[]> pendingInputs = new ArrayList<>();
            List<int[]> pendingSlots = new ArrayList<>();
            for (LabelledImage img : images) {
                if (Thread.currentThread().isInterrupted()) {
                    throw new dev.vigil.core.VigilException("training cancelled");
                }
                byte[] bytes;
                try {
                    bytes = ImageIo.read(img.path());
                    ImageIo.decode(bytes, img.path().toString()).release();
                } catch (VigilException e) {
                    log.println("warning: skipping " + img.path() + ": " + e.getMessage());
                    skipped++;
                    progress.step(variants.size());
                    continue;
                }
                String sha = Hashing.sha256(bytes);
                int slot = kept.size();
                kept.add(img);
                shas.add(sha);
                Features[] fs = new Features[variants.size()];
                feats.add(fs);
                for (int v = 0; v < variants.size(); v++) {
                    Variant variant = variants.get(v);
                    if (cache != null) {
                        var hit = cache.get(sha, variant);
                        if (hit.isPresent()) {
                            fs[v] = streaming.decide(hit.get()) ? cache.onDisk(sha, variant, hit.get()) : hit.get();
                            cached++;
                            progress.step(1);
                            continue;
                        }
                    }
                    if (rawInput && streamInputs) {
                        fs[v] = new Features(new CutMap.Decoded(img.path(), spec.preprocessing(), variant),
                                new float[0]);
                        progress.step(1);
                        continue;
                    }
                    float[] input = ImageIo.preprocess(bytes, spec.preprocessing(), variant, img.path().toString());
                    if (rawInput) {
                        fs[v] = Features.ofFloats(input, new float[0]);
                        progress.step(1);
                        continue;
                    }
                    pendingInputs.add(input);
                    pendingSlots.add(new int[] {slot, v});
                    if (pendingInputs.size() == BATCH) {
                        flush(fx, pendingInputs, pendingSlots, feats, shas, variants, cache, streaming, forward, per);
                        progress.step(BATCH);
                    }
                }
            }
            int rest = pendingInputs.size();
            flush(fx, pendingInputs, pendingSlots, feats, shas, variants, cache, streaming, forward, per);
            progress.step(rest);
            long[] cutShape = null;
            if (!kept.isEmpty() && spec.needsCutMap()) {
                cutShape = rawInput ? new long[] {3, spec.preprocessing().height(), spec.preprocessing().width()}
                        : fx.cutShape();
            }
            return new Extracted(kept, shas, feats.toArray(Features[][]::new), skipped, cached, forward, cutShape);
        }
    }

    private static void flush(FeatureExtractor fx, List<float[]> inputs, List<int[]> slots, List<Features[]> feats,
            List<String> shas, List<Variant> variants, FeatureCache cache, Streaming streaming, double[] forward,
            int per) {
        if (inputs.isEmpty()) {
            return;
        }
        float[] batch = new float[inputs.size() * per];
        for (int i = 0; i < inputs.size(); i++) {
            System.arraycopy(inputs.get(i), 0, batch, i * per, per);
        }
        long t0 = System.nanoTime();
        List<Features> out = fx.run(batch, inputs.size());
        double secs = (System.nanoTime() - t0) / 1e9;
        for (int i = 0; i < out.size(); i++) {
            int[] s = slots.get(i);
            Features f = out.get(i);
            feats.get(s[0])[s[1]] = f;
            forward[s[1]] += secs / out.size();
            if (cache != null) {
                try {
                    Features onDisk = cache.put(shas.get(s[0]), variants.get(s[1]), f);
                    if (streaming.decide(f)) {
                        feats.get(s[0])[s[1]] = onDisk;
                    }
                } catch (IOException e) {
                    throw new VigilException("cannot write the feature cache " + cache.dir() + ": " + e.getMessage()
                            + "; check free space and permissions, or pass another --cache folder");
                }
            }
        }
        inputs.clear();
        slots.clear();
    }

    /** Decides, at the first features seen, whether this set's cut maps stay in memory or are streamed. */
    private static final class Streaming {
        private final FeatureCache cache;
        private final long items;
        private final PrintStream log;
        private Boolean stream;

        Streaming(FeatureCache cache, long items, PrintStream log) {
            this.cache = cache;
            this.items = items;
            this.log = log;
        }

        boolean decide(Features first) {
            if (stream == null) {
                int bytes = first.cut() instanceof CutMap.Halves ? 2 : 4;
                stream = cache != null && first.cutLength() > 0
                        && FeatureMemory.mustStream(items, first.cutLength(), bytes);
                if (stream) {
                    log.printf("features: %d maps of %.1f MB exceed the memory budget of %d MB; streaming them from"
                            + " %s%n", items, first.cutLength() * (double) bytes / 1e6,
                            FeatureMemory.budgetBytes() >> 20, cache.dir());
                }
            }
            return stream;
        }
    }
}
