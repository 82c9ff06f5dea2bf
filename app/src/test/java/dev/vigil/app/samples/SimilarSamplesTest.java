package dev.vigil.app.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Embeddings in the sample store and the in-memory index behind {@code GET /api/samples/{id}/similar}: stored
 * atomically beside the image with the model that made them, counted in the quota, gone with the sample; searches
 * see labels, relabels, bulk labels, undo and deletes; samples without an embedding or of another model are left out.
 * Also measures a search over 5000 samples of 512 and of 1536 dimensions (docs/benchmarks.md).
 */
class SimilarSamplesTest {
    private static final byte[] JPEG = {(byte) 0xff, (byte) 0xd8, 1, 2, 3, (byte) 0xff, (byte) 0xd9};
    @TempDir
    Path dir;

    private static float[] unit(float... v) {
        double n = 0;
        for (float x : v) {
            n += x * x;
        }
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (v[i] / Math.sqrt(n));
        }
        return out;
    }

    private static Sample add(SampleStore store, String model, float[] emb, int second) throws Exception {
        return store.add("cam1", Instant.parse("2026-11-23T10:00:00Z").plusSeconds(second), JPEG, "defect", model,
                "defect", "crack", 0.9, List.of("crack", "ok"), List.of(0.9, 0.1), null, null, null, emb);
    }

    private static List<String> ids(SampleStore.Similar s) {
        return s.nearest().stream().map(m -> m.sample().id()).toList();
    }

    @Test
    void embeddingsAreStoredCountedSearchedByModelAndFollowLabelsAndDeletes() throws Exception {
        try (SampleStore store = new SampleStore(dir, 1 << 20, 0)) {
            Sample query = add(store, "m1", unit(1, 0, 0, 0), 0);
            Sample close = add(store, "m1", unit(1, 0.1f, 0, 0), 1);
            Sample middle = add(store, "m1", unit(1, 1, 0, 0), 2);
            Sample far = add(store, "m1", unit(0, 0, 1, 0), 3);
            Sample unlabelled = add(store, "m1", unit(1, 0.01f, 0, 0), 4);
            Sample otherModel = add(store, "m2", unit(1, 0, 0, 0), 5);
            Sample none = add(store, "m1", null, 6);

            // on disk: float32 little-endian beside the image, in the quota
            Path file = store.imageFile(close).resolveSibling(close.id() + ".embedding.f32");
            byte[] b = Files.readAllBytes(file);
            assertEquals(16, b.length);
            assertEquals(unit(1, 0.1f, 0, 0)[1], ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getFloat(4));
            assertEquals(JPEG.length + 16, close.bytes(), "the quota counts the embedding");
            assertEquals(JPEG.length, none.bytes());
            assertFalse(Files.exists(store.imageFile(none).resolveSibling(none.id() + ".embedding.f32")));
            assertEquals("m1", store.embedding(close.id()).orElseThrow().model());

            // nothing labelled yet
            SampleStore.Similar empty = store.similar(query.id(), 6).orElseThrow();
            assertTrue(empty.nearest().isEmpty());
            assertTrue(empty.reason().contains("no labelled sample"), empty.reason());
            assertTrue(store.similar("s0000000000000-deadbeef", 6).isEmpty(), "unknown sample");

            store.label(far.id(), "ok", "olga", Instant.now()); // before the index is loaded
            store.similar(query.id(), 6); // loads it
            store.label(close.id(), "crack", "olga", Instant.now()); // after: kept in step
            var batch = store.labelBatch(List.of(middle.id(), otherModel.id(), none.id(), query.id()), "crack",
                    "olga", Instant.now());
            SampleStore.Similar s = store.similar(query.id(), 6).orElseThrow();
            assertEquals(List.of(close.id(), middle.id(), far.id()), ids(s),
                    "most similar first; not itself, not unlabelled, not another model's, not one without embedding");
            assertNull(s.reason());
            assertEquals(3, s.compared());
            assertEquals(unit(1, 0.1f, 0, 0)[0], s.nearest().get(0).similarity(), 1e-6);
            assertEquals(0, s.nearest().get(2).similarity(), 1e-6);
            assertEquals(List.of("crack", "ok"), List.copyOf(s.byClass().keySet()));
            assertEquals(close.id(), s.byClass().get("crack").sample().id());
            assertEquals(far.id(), s.byClass().get("ok").sample().id());
            assertEquals(List.of(close.id()), ids(store.similar(query.id(), 1).orElseThrow()), "the limit");
            SampleStore.Similar m2 = store.similar(otherModel.id(), 6).orElseThrow();
            assertEquals(List.of(), ids(m2), "a sample of model m2 sees only samples embedded by m2 (none but itself),"
                    + " not m1's identical vector");
            assertEquals("m2", m2.model());
            SampleStore.Similar noEmbedding = store.similar(none.id(), 6).orElseThrow();
            assertTrue(noEmbedding.nearest().isEmpty());
            assertTrue(noEmbedding.reason().contains("no embedding"), noEmbedding.reason());

            // relabel: the new class; unlabel: gone; undo of the batch: back to unlabelled
            store.label(close.id(), "ok", "olga", Instant.now());
            assertEquals("ok", store.similar(query.id(), 6).orElseThrow().nearest().get(0).sample().assignedLabel());
            store.label(far.id(), null, "olga", Instant.now());
            assertEquals(List.of(close.id(), middle.id()), ids(store.similar(query.id(), 6).orElseThrow()));
            store.undoBatch(batch.batch(), "olga", Instant.now());
            assertEquals(List.of(close.id()), ids(store.similar(query.id(), 6).orElseThrow()));
            store.label(unlabelled.id(), "crack", "olga", Instant.now());
            assertEquals(List.of(unlabelled.id(), close.id()), ids(store.similar(query.id(), 6).orElseThrow()));

            // delete: the file and the entry go
            Path unlabelledFile = store.imageFile(unlabelled).resolveSibling(unlabelled.id() + ".embedding.f32");
            assertTrue(Files.exists(unlabelledFile));
            assertTrue(store.delete(store.get(unlabelled.id()).orElseThrow()));
            assertFalse(Files.exists(unlabelledFile));
            assertEquals(List.of(close.id()), ids(store.similar(query.id(), 6).orElseThrow()));
            // the quota removes them too
            store.limits(1, 0);
            store.enforce(Instant.now());
            try (var files = Files.walk(dir.resolve("samples"))) {
                assertEquals(List.of(), files.filter(p -> p.toString().endsWith(".f32")).toList());
            }
        }
        // reopened: the index is loaded from what is stored
        try (SampleStore store = new SampleStore(dir, 1 << 20, 0)) {
            Sample a = add(store, "m1", unit(1, 0, 0), 10);
            Sample c = add(store, "m1", unit(0.9f, 0.1f, 0), 11);
            store.label(c.id(), "crack", "olga", Instant.now());
        }
        try (SampleStore store = new SampleStore(dir, 1 << 20, 0)) {
            String q = store.list(Boolean.FALSE, 10).get(0).id();
            String labelled = store.list(Boolean.TRUE, 10).get(0).id();
            assertEquals(List.of(labelled), ids(store.similar(q, 6).orElseThrow()));
        }
    }

    @Test
    void aSearchOver5000SamplesTakesMilliseconds() {
        search(5000, 512);
        search(5000, 1536); // the shared SqueezeNet's pooled features (the casting packages' embeddings)
    }

    private static void search(int n, int d) {
        Random random = new Random(7);
        SimilarIndex index = new SimilarIndex();
        List<String> labels = List.of("ok", "crack", "pit", "scratch");
        List<float[]> vectors = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[] v = new float[d];
            for (int j = 0; j < d; j++) {
                v[j] = (float) Math.abs(random.nextGaussian());
            }
            v = unit(v);
            vectors.add(v);
            index.put(String.format("s%013d-%08x", i, i), "m1", labels.get(i % labels.size()), v);
        }
        float[] q = vectors.get(123);
        SimilarIndex.Nearest first = index.nearest("m1", q, "none", 24);
        assertEquals(String.format("s%013d-%08x", 123, 123), first.nearest().get(0).id(), "itself is nearest");
        assertEquals(1.0, first.nearest().get(0).similarity(), 1e-5);
        for (int i = 1; i < first.nearest().size(); i++) {
            assertTrue(first.nearest().get(i - 1).similarity() >= first.nearest().get(i).similarity());
        }
        assertEquals(4, first.byClass().size());
        // warm up, then time
        for (int i = 0; i < 200; i++) {
            index.nearest("m1", vectors.get(i), vectors.get(i) == q ? "x" : "none", 24);
        }
        int runs = 200;
        long[] nanos = new long[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            SimilarIndex.Nearest r = index.nearest("m1", vectors.get(i * 7 % n), "none", 24);
            nanos[i] = System.nanoTime() - t0;
            assertNotNull(r);
        }
        java.util.Arrays.sort(nanos);
        System.out.printf(java.util.Locale.ROOT, "SIMILAR %d samples x %d dims, top 24 + nearest per class:"
                + " median %.2f ms, p95 %.2f ms, max %.2f ms (%d runs)%n", n, d, nanos[runs / 2] / 1e6,
                nanos[runs * 95 / 100] / 1e6, nanos[runs - 1] / 1e6, runs);
        assertTrue(nanos[runs / 2] < 100_000_000L, "a search stays well under 100 ms: " + nanos[runs / 2]);
        long heap = (long) n * d * 4;
        System.out.printf(java.util.Locale.ROOT, "SIMILAR memory: %d samples x %d dims float32 = %.1f MiB%n", n, d,
                heap / 1048576.0);
    }
}
