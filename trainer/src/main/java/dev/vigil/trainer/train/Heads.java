package dev.vigil.trainer.train;

import dev.vigil.core.VigilException;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.trainer.data.LabelTable;
import dev.vigil.trainer.data.LabelledImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The heads of a multi-task model (docs/multitask.md): several classifiers on one shared trainable suffix, one per
 * column of a {@code --labels} CSV. The network's last layer gives the heads' logits side by side ({@link #offset},
 * {@link #size}); each head's softmax is taken over its own slice, and an image whose class is unknown for a head is
 * left out of that head's loss. The {@link #verdict} head is the one the service decides on: the operating point,
 * the figures it promises and the drift reference are all the verdict head's.
 *
 * @param names the head names, in CSV column order
 * @param classes each head's classes (its labels), in name order
 * @param verdict the index of the verdict head
 * @param labels each image's class index per head (-1 = unknown), by absolute, normalised path
 */
public record Heads(List<String> names, List<List<String>> classes, int verdict, Map<Path, int[]> labels) {
    /** The head name the verdict head defaults to. */
    public static final String DEFAULT_VERDICT = "verdict";

    public Heads {
        names = List.copyOf(names);
        classes = classes.stream().map(List::copyOf).toList();
        labels = Map.copyOf(labels);
    }

    /**
     * The heads of {@code table}; {@code verdictHead} names the verdict head (null: the head named
     * {@value #DEFAULT_VERDICT}, or the only head).
     */
    public static Heads of(LabelTable table, String verdictHead) {
        int v;
        String where = table.csv().getFileName().toString();
        if (verdictHead != null) {
            v = table.heads().indexOf(verdictHead);
            if (v < 0) {
                throw new VigilException("--verdict-head '" + verdictHead + "' is not a head of " + where
                        + "; its heads are " + table.heads());
            }
        } else if (table.heads().contains(DEFAULT_VERDICT)) {
            v = table.heads().indexOf(DEFAULT_VERDICT);
        } else if (table.heads().size() == 1) {
            v = 0;
        } else {
            throw new VigilException(where + " has heads " + table.heads() + " and none is named '"
                    + DEFAULT_VERDICT + "'; say which one the service decides on with --verdict-head NAME");
        }
        Map<Path, int[]> labels = new HashMap<>();
        for (LabelTable.Row r : table.rows()) {
            labels.put(key(r.file()), r.labels().clone());
        }
        return new Heads(table.heads(), table.classes(), v, labels);
    }

    private static Path key(Path p) {
        return p.toAbsolutePath().normalize();
    }

    /**
     * The images of {@code table} as a dataset of the verdict head: its classes, and each image's verdict class (-1
     * where the verdict is unknown: such an image trains the other heads only).
     */
    public ImageDataset dataset(LabelTable table) {
        List<LabelledImage> images = new ArrayList<>();
        for (LabelTable.Row r : table.rows()) {
            images.add(new LabelledImage(r.file(), r.labels()[verdict]));
        }
        return new ImageDataset(table.csv().toAbsolutePath().getParent(), classes.get(verdict), images, 0);
    }

    public int count() {
        return names.size();
    }

    /** The classes of head {@code h}. */
    public int size(int h) {
        return classes.get(h).size();
    }

    /** Where head {@code h}'s logits start in the network's output. */
    public int offset(int h) {
        int o = 0;
        for (int i = 0; i < h; i++) {
            o += size(i);
        }
        return o;
    }

    /** Every head's logits together: the width of the network's output. */
    public int width() {
        return offset(count());
    }

    public String verdictName() {
        return names.get(verdict);
    }

    /** The class index per head of the image at {@code path} (a copy; -1 = unknown). */
    public int[] labelsOf(Path path) {
        int[] l = labels.get(key(path));
        if (l == null) {
            throw new IllegalArgumentException(path + " is not in the label table");
        }
        return l.clone();
    }

    /**
     * Per-head class weights over the images {@code rows} (class index per head, -1 unknown): each head's known
     * images weigh as much in total whatever its class balance (as the single head's weights do).
     */
    public float[][] classWeights(int[][] rows) {
        float[][] w = new float[count()][];
        for (int h = 0; h < count(); h++) {
            int k = size(h);
            int[] n = new int[k];
            int known = 0;
            for (int[] r : rows) {
                if (r[h] >= 0) {
                    n[r[h]]++;
                    known++;
                }
            }
            w[h] = new float[k];
            for (int c = 0; c < k; c++) {
                w[h][c] = n[c] == 0 ? 0f : known / (float) (k * n[c]);
            }
        }
        return w;
    }
}
