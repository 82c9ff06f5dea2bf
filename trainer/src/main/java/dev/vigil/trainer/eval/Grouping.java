package dev.vigil.trainer.eval;

import dev.vigil.core.VigilException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which images show the same physical part, so that no part lands on both sides of a split: two photographs of one
 * part (another light, a small shift, a re-shoot) are nearly the same image, and a model that has trained on one
 * "recognises" the other, which inflates validation figures. A grouping is an {@code int[]} with one group id per
 * image; images with the same id are one part.
 *
 * <p>Two ways to find the groups:
 * <ul>
 *   <li>{@link #byRegex} from the file names, when they name the part ({@code part12_light1.png}); exact when the
 *       naming is consistent, and it says what is wrong when the expression cannot be used;</li>
 *   <li>{@link #nearDuplicates} from per-image feature vectors, when the names say nothing: pairs whose cosine
 *       similarity (after centring, see there) reaches a threshold are joined, transitively.</li>
 * </ul>
 *
 * <p>Guarantees: every method returns group ids numbered 0..n−1 in order of first appearance (image 0 is in group
 * 0), so equal inputs give equal arrays, and {@link #count} is the largest id plus one. Nothing here reads files.
 *
 * <pre>{@code
 * int[] g = Grouping.byRegex(names, "^(part\\d+)_");      // part12_light1.png, part12_light2.png -> same id
 * int[] h = Grouping.nearDuplicates(features, Grouping.suggestedThreshold(features));
 * }</pre>
 */
public final class Grouping {
    private Grouping() {}

    /**
     * Cosine similarity on centred features at or above which two images are taken for the same part when the data
     * cannot suggest a threshold (fewer than {@link #MIN_IMAGES_FOR_SUGGESTION} images), and the most that
     * {@link #suggestedThreshold} ever asks for. After the mean vector is subtracted, two different parts of one
     * class keep only what distinguishes them and typically sit well below 0.9; a second photograph of the same part
     * differs by lighting and noise only and sits above 0.97. Erring low is the safe side: joining two parts that
     * were different only makes the split coarser, while missing a duplicate leaks it into validation.
     */
    public static final double DEFAULT_MIN_COSINE = 0.97;

    /** The fewest images for which {@link #suggestedThreshold} estimates a threshold instead of the default. */
    public static final int MIN_IMAGES_FOR_SUGGESTION = 10;

    /** The lowest threshold {@link #suggestedThreshold} returns: below this, images are not near-duplicates. */
    public static final double MIN_SUGGESTED_COSINE = 0.5;

    /** Share of the gap between the typical nearest-neighbour cosine and 1 that a duplicate must close. */
    public static final double GAP_FRACTION = 0.5;

    // ---- by file name ----------------------------------------------------------------------------------------

    /**
     * Groups images by the part their file names name: the group key is the text of the first capturing group of
     * the first match ({@link Matcher#find}) of {@code regex} in the file name (the name only: any folders before
     * the last {@code /} or {@code \} are dropped). A file whose name does not match, or whose first group captures
     * nothing, forms a group of its own.
     *
     * @param fileNames file names (or paths) of the images, one per image
     * @param regex a Java regular expression with at least one capturing group, e.g. {@code ^(part\d+)_}
     * @throws VigilException when {@code regex} is not a valid expression, has no capturing group, or picks a part
     *     name out of none of the file names
     */
    public static int[] byRegex(List<String> fileNames, String regex) {
        Pattern pattern;
        try {
            pattern = Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new VigilException("--group-by '" + regex + "' is not a valid regular expression: "
                    + e.getDescription() + " (at index " + e.getIndex() + "); fix it, e.g. --group-by"
                    + " '^(part\\d+)_' for names like part12_light1.png", e);
        }
        if (pattern.matcher("").groupCount() < 1) {
            throw new VigilException("--group-by '" + regex + "' has no capturing group ( ... ); put the part of"
                    + " the file name that names the part in parentheses, e.g. --group-by '^(part\\d+)_'");
        }
        int n = fileNames.size();
        int[] groups = new int[n];
        Map<String, Integer> ids = new HashMap<>();
        int next = 0;
        int named = 0;
        boolean matchedAny = false;
        for (int i = 0; i < n; i++) {
            Matcher m = pattern.matcher(nameOnly(fileNames.get(i)));
            boolean found = m.find();
            matchedAny |= found;
            String key = found ? m.group(1) : null;
            if (key == null || key.isEmpty()) {
                groups[i] = next++;
                continue;
            }
            named++;
            Integer id = ids.get(key);
            if (id == null) {
                id = next++;
                ids.put(key, id);
            }
            groups[i] = id;
        }
        if (n > 0 && named == 0) {
            throw new VigilException("--group-by '" + regex + "' " + (matchedAny
                    ? "matches, but its first capturing group captures nothing in any of the "
                    : "matches none of the ") + n
                    + " file names (e.g. '" + nameOnly(fileNames.get(0)) + "'); it is matched against the file name"
                    + " only, without folders, and its first capturing group must capture the part, e.g."
                    + " --group-by '^(part\\d+)_' for part12_light1.png; fix the expression or leave --group-by out");
        }
        return groups;
    }

    private static String nameOnly(String path) {
        int slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
        return path.substring(slash + 1);
    }

    // ---- by image content ------------------------------------------------------------------------------------

    /**
     * Joins every pair of images whose cosine similarity is at least {@code minCosine}, transitively (union-find):
     * if a ~ b and b ~ c, all three are one group even when a and c are less similar.
     *
     * <p>The features are centred first: the mean vector over all the images given is subtracted from each. Feature
     * vectors of a pretrained backbone share a large common component (post-ReLU activations are all positive, and
     * every image shows the same kind of part), so raw cosines of unrelated images are already near 1 and say
     * little; after centring, a cosine near 1 means two images agree in what sets them apart from the rest. Pass the
     * features of the whole dataset, all classes together. An image equal to the mean has no direction; two such
     * images count as identical (cosine 1), and one such image as unrelated (cosine 0) to any other.
     *
     * @param features one vector per image, all of the same length
     * @param minCosine threshold in [−1, 1]; see {@link #suggestedThreshold} and {@link #DEFAULT_MIN_COSINE}
     */
    public static int[] nearDuplicates(float[][] features, double minCosine) {
        if (!(minCosine >= -1 && minCosine <= 1)) {
            throw new VigilException("near-duplicate threshold must be a cosine between -1 and 1, found " + minCosine
                    + "; " + DEFAULT_MIN_COSINE + " is a sane default");
        }
        int n = features.length;
        double[][] unit = centredUnitVectors(features);
        int[] parent = new int[n];
        for (int i = 0; i < n; i++) {
            parent[i] = i;
        }
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                if (cosine(unit[i], unit[j]) >= minCosine) {
                    int a = root(parent, i);
                    int b = root(parent, j);
                    if (a != b) {
                        parent[Math.max(a, b)] = Math.min(a, b);
                    }
                }
            }
        }
        int[] groups = new int[n];
        for (int i = 0; i < n; i++) {
            groups[i] = root(parent, i);
        }
        return renumber(groups);
    }

    /**
     * A threshold for {@link #nearDuplicates} from the data itself: halfway between the typical nearest-neighbour
     * cosine and 1, i.e. {@code r + GAP_FRACTION × (1 − r)} where {@code r} is the median over images of the
     * cosine to their nearest neighbour (centred features, as in {@link #nearDuplicates}); then clamped to
     * [{@link #MIN_SUGGESTED_COSINE}, {@link #DEFAULT_MIN_COSINE}].
     *
     * <p>Why: the median nearest neighbour is how close an ordinary different part comes, on this data and backbone;
     * a duplicate must be much closer than that, and "halfway to identical" is a clear margin that adapts to how
     * varied the parts are (varied parts: lower threshold; a homogeneous product: higher). The median is robust as
     * long as fewer than half of the images have a duplicate. When most images have one (every part photographed
     * under two lights), the median itself is at duplicate level and halfway to 1 would miss them; the cap at
     * {@link #DEFAULT_MIN_COSINE} keeps such pairs joined. With fewer than {@link #MIN_IMAGES_FOR_SUGGESTION} images
     * the median says too little and the default is returned. When file names name the parts, {@link #byRegex} is
     * exact and is to be preferred.
     */
    public static double suggestedThreshold(float[][] features) {
        int n = features.length;
        if (n < MIN_IMAGES_FOR_SUGGESTION) {
            return DEFAULT_MIN_COSINE;
        }
        double[] nearest = nearestNeighbourCosines(features);
        double[] sorted = nearest.clone();
        Arrays.sort(sorted);
        double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        double t = median + GAP_FRACTION * (1 - median);
        return Math.max(MIN_SUGGESTED_COSINE, Math.min(DEFAULT_MIN_COSINE, t));
    }

    /** For each image, the cosine (centred features) to its most similar other image; −1 when it is alone. */
    public static double[] nearestNeighbourCosines(float[][] features) {
        int n = features.length;
        double[][] unit = centredUnitVectors(features);
        double[] nearest = new double[n];
        Arrays.fill(nearest, -1);
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                double c = cosine(unit[i], unit[j]);
                nearest[i] = Math.max(nearest[i], c);
                nearest[j] = Math.max(nearest[j], c);
            }
        }
        return nearest;
    }

    /** Centred, unit-length copies; null for a vector (nearly) equal to the mean. */
    private static double[][] centredUnitVectors(float[][] features) {
        int n = features.length;
        if (n == 0) {
            return new double[0][];
        }
        int d = features[0].length;
        double[] mean = new double[d];
        double rawNorms = 0;
        for (float[] f : features) {
            if (f.length != d) {
                throw new IllegalArgumentException("feature vectors differ in length: " + d + " and " + f.length);
            }
            double s = 0;
            for (int k = 0; k < d; k++) {
                if (!Float.isFinite(f[k])) {
                    throw new IllegalArgumentException("a feature value is " + f[k]);
                }
                mean[k] += f[k];
                s += (double) f[k] * f[k];
            }
            rawNorms += Math.sqrt(s);
        }
        for (int k = 0; k < d; k++) {
            mean[k] /= n;
        }
        double tiny = 1e-9 * rawNorms / n;
        double[][] unit = new double[n][];
        for (int i = 0; i < n; i++) {
            double[] v = new double[d];
            double s = 0;
            for (int k = 0; k < d; k++) {
                v[k] = features[i][k] - mean[k];
                s += v[k] * v[k];
            }
            double norm = Math.sqrt(s);
            if (norm <= tiny) {
                continue;
            }
            for (int k = 0; k < d; k++) {
                v[k] /= norm;
            }
            unit[i] = v;
        }
        return unit;
    }

    private static double cosine(double[] a, double[] b) {
        if (a == null || b == null) {
            return a == b ? 1 : 0;
        }
        double s = 0;
        for (int k = 0; k < a.length; k++) {
            s += a[k] * b[k];
        }
        return s;
    }

    private static int root(int[] parent, int i) {
        while (parent[i] != i) {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        return i;
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    /** How many distinct groups there are. */
    public static int count(int[] groups) {
        return (int) Arrays.stream(groups).distinct().count();
    }

    /** The same grouping with ids 0..n−1 in order of first appearance (any ids in, including negative ones). */
    public static int[] renumber(int[] groups) {
        Map<Integer, Integer> ids = new HashMap<>();
        int[] out = new int[groups.length];
        for (int i = 0; i < groups.length; i++) {
            out[i] = ids.computeIfAbsent(groups[i], g -> ids.size());
        }
        return out;
    }

    /** One group per image: what a split does when nothing is known about parts. */
    public static int[] singletons(int n) {
        int[] g = new int[n];
        for (int i = 0; i < n; i++) {
            g[i] = i;
        }
        return g;
    }
}
