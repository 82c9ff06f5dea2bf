package dev.vigil.app.samples;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.TreeMap;

/**
 * The embeddings of the labelled samples, in memory, grouped by the model that made them (features of different models
 * are not comparable): one flat {@code float[]} per model, searched by brute force — a dot product per sample, which
 * for unit vectors is the cosine similarity. A few thousand samples of a few hundred dimensions take about a
 * millisecond ({@code SimilarIndexBenchmark}, docs/benchmarks.md). Kept by {@link SampleStore}, which loads it on the
 * first search and updates it on every label, bulk label, undo and delete. Thread-safe.
 */
public final class SimilarIndex {
    /** One labelled sample found near another: its id, its label and the cosine similarity. */
    public record Neighbour(String id, String label, double similarity) {}

    /**
     * What a search found: the nearest labelled samples, best first; the nearest of each class (by class name); and
     * how many samples of the model were compared.
     */
    public record Nearest(List<Neighbour> nearest, Map<String, Neighbour> byClass, int compared) {}

    /** The embeddings of one model's labelled samples; removal moves the last row into the gap. */
    private static final class Group {
        final int dims;
        float[] flat;
        String[] ids;
        String[] labels;
        int n;
        final Map<String, Integer> row = new HashMap<>();

        Group(int dims) {
            this.dims = dims;
            this.flat = new float[16 * dims];
            this.ids = new String[16];
            this.labels = new String[16];
        }
    }

    private final Map<String, Group> groups = new HashMap<>();
    /** Which model's group each sample is in. */
    private final Map<String, String> modelOf = new HashMap<>();

    /** Adds or replaces labelled sample {@code id}: its label, the model that made {@code unit} (a unit vector). */
    public synchronized void put(String id, String model, String label, float[] unit) {
        String was = modelOf.get(id);
        Group g = groups.get(model);
        if (was != null && (!was.equals(model) || g == null || g.dims != unit.length)) {
            remove(id);
            was = null;
        }
        if (g != null && g.dims != unit.length) {
            return; // a vector of another size than this model's: damaged, leave it out
        }
        if (g == null) {
            g = new Group(unit.length);
            groups.put(model, g);
        }
        Integer r = g.row.get(id);
        if (r == null) {
            if (g.n == g.ids.length) {
                int cap = g.ids.length * 2;
                g.ids = Arrays.copyOf(g.ids, cap);
                g.labels = Arrays.copyOf(g.labels, cap);
                g.flat = Arrays.copyOf(g.flat, cap * g.dims);
            }
            r = g.n++;
            g.row.put(id, r);
            g.ids[r] = id;
            modelOf.put(id, model);
        }
        g.labels[r] = label;
        System.arraycopy(unit, 0, g.flat, r * g.dims, g.dims);
    }

    /** Sets the label of sample {@code id} when it is in; false when it is not (its vector must be read first). */
    public synchronized boolean relabel(String id, String label) {
        String model = modelOf.get(id);
        Integer r = model == null ? null : groups.get(model).row.get(id);
        if (r == null) {
            return false;
        }
        groups.get(model).labels[r] = label;
        return true;
    }

    /** Takes sample {@code id} out (unlabelled or deleted); nothing when it is not in. */
    public synchronized void remove(String id) {
        String model = modelOf.remove(id);
        Group g = model == null ? null : groups.get(model);
        if (g == null) {
            return;
        }
        Integer r = g.row.remove(id);
        if (r == null) {
            return;
        }
        int last = --g.n;
        if (r != last) {
            g.ids[r] = g.ids[last];
            g.labels[r] = g.labels[last];
            System.arraycopy(g.flat, last * g.dims, g.flat, r * g.dims, g.dims);
            g.row.put(g.ids[r], r);
        }
        g.ids[last] = null;
        g.labels[last] = null;
        if (g.n == 0) {
            groups.remove(model);
        }
    }

    /** How many labelled samples are in (all models). */
    public synchronized int size() {
        return modelOf.size();
    }

    /**
     * The {@code limit} labelled samples of {@code model} most similar to {@code unit}, best first (ties by id), leaving
     * out {@code exclude} (the sample asked about), and the most similar of each class.
     */
    public synchronized Nearest nearest(String model, float[] unit, String exclude, int limit) {
        Group g = groups.get(model);
        if (g == null || g.dims != unit.length || limit <= 0) {
            return new Nearest(List.of(), Map.of(), 0);
        }
        int d = g.dims;
        float[] flat = g.flat;
        float[] sims = new float[g.n];
        Map<String, Integer> bestOfClass = new HashMap<>();
        int compared = 0;
        for (int r = 0; r < g.n; r++) {
            if (g.ids[r].equals(exclude)) {
                sims[r] = Float.NaN;
                continue;
            }
            compared++;
            sims[r] = dot(flat, r * d, unit);
            Integer c = bestOfClass.get(g.labels[r]);
            if (c == null || better(g, sims, r, c)) {
                bestOfClass.put(g.labels[r], r);
            }
        }
        // the best rows so far, the worst of them on top
        PriorityQueue<Integer> top = new PriorityQueue<>(limit + 1, (a, b) -> better(g, sims, a, b) ? 1
                : better(g, sims, b, a) ? -1 : 0);
        for (int r = 0; r < g.n; r++) {
            if (Float.isNaN(sims[r])) {
                continue;
            }
            if (top.size() < limit) {
                top.add(r);
            } else if (better(g, sims, r, top.peek())) {
                top.poll();
                top.add(r);
            }
        }
        List<Neighbour> out = new ArrayList<>();
        while (!top.isEmpty()) {
            int r = top.poll();
            out.add(new Neighbour(g.ids[r], g.labels[r], sims[r]));
        }
        java.util.Collections.reverse(out);
        Map<String, Neighbour> byClass = new LinkedHashMap<>();
        new TreeMap<>(bestOfClass).forEach((label, r) -> byClass.put(label, new Neighbour(g.ids[r], label, sims[r])));
        return new Nearest(out, byClass, compared);
    }

    /**
     * The dot product of {@code v} with the row at {@code offset} of {@code flat}: four running sums, which the JIT
     * keeps in parallel (one sum is a chain of dependent additions it may not reorder).
     */
    static float dot(float[] flat, int offset, float[] v) {
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        int d = v.length;
        int j = 0;
        for (; j + 3 < d; j += 4) {
            s0 += flat[offset + j] * v[j];
            s1 += flat[offset + j + 1] * v[j + 1];
            s2 += flat[offset + j + 2] * v[j + 2];
            s3 += flat[offset + j + 3] * v[j + 3];
        }
        for (; j < d; j++) {
            s0 += flat[offset + j] * v[j];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Whether row {@code a} ranks before row {@code b}: more similar, or as similar and the smaller id. */
    private static boolean better(Group g, float[] sims, int a, int b) {
        return sims[a] > sims[b] || sims[a] == sims[b] && g.ids[a].compareTo(g.ids[b]) < 0;
    }
}
