package dev.vigil.trainer.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.VigilException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GroupingTest {
    // ---- by file name ----

    @Test
    void photosOfOnePartUnderDifferentLightsShareAGroup() {
        int[] g = Grouping.byRegex(List.of("part12_light1.png", "part12_light2.png", "part13_light1.png"),
                "^(part\\d+)_");
        assertArrayEquals(new int[] {0, 0, 1}, g);
        assertEquals(2, Grouping.count(g));
    }

    @Test
    void onlyTheFileNameIsMatchedNotItsFolders() {
        int[] g = Grouping.byRegex(List.of("data/scratch/part12_a.png", "data/ok/part7_a.png",
                "C:\\data\\ok\\part12_b.png"), "^(part\\d+)_");
        assertArrayEquals(new int[] {0, 1, 0}, g);
    }

    @Test
    void namesThatDoNotMatchAreGroupsOfTheirOwn() {
        int[] g = Grouping.byRegex(List.of("IMG_0001.png", "part1_a.png", "IMG_0002.png", "part1_b.png"),
                "(part\\d+)_");
        assertArrayEquals(new int[] {0, 1, 2, 1}, g);
    }

    @Test
    void anExpressionWithoutACapturingGroupSaysToAddParentheses() {
        VigilException e = assertThrows(VigilException.class,
                () -> Grouping.byRegex(List.of("part1_a.png"), "^part\\d+_"));
        assertTrue(e.getMessage().contains("'^part\\d+_'"), e.getMessage());
        assertTrue(e.getMessage().contains("has no capturing group"), e.getMessage());
        assertTrue(e.getMessage().contains("in parentheses, e.g. --group-by '^(part\\d+)_'"), e.getMessage());
        // A non-capturing group does not count.
        assertThrows(VigilException.class, () -> Grouping.byRegex(List.of("part1_a.png"), "^(?:part\\d+)_"));
    }

    @Test
    void anExpressionThatMatchesNoFileNamesTheExpressionAnExampleAndTheFix() {
        VigilException e = assertThrows(VigilException.class,
                () -> Grouping.byRegex(List.of("ok/IMG_0001.png", "ok/IMG_0002.png"), "^(part\\d+)_"));
        String m = e.getMessage();
        assertTrue(m.contains("--group-by '^(part\\d+)_'"), m);
        assertTrue(m.contains("none of the 2 file names"), m);
        assertTrue(m.contains("'IMG_0001.png'"), m);
        assertTrue(m.contains("without folders") && m.contains("leave --group-by out"), m);
    }

    @Test
    void aGroupThatCapturesNothingDoesNotJoinEveryImage() {
        VigilException e = assertThrows(VigilException.class,
                () -> Grouping.byRegex(List.of("a.png", "b.png"), "(x*)"));
        assertTrue(e.getMessage().contains("captures nothing in any of the 2 file names"), e.getMessage());
    }

    @Test
    void anInvalidExpressionGivesTheSyntaxProblem() {
        VigilException e = assertThrows(VigilException.class,
                () -> Grouping.byRegex(List.of("part1_a.png"), "^(part\\d+_"));
        assertTrue(e.getMessage().contains("is not a valid regular expression: Unclosed group"), e.getMessage());
    }

    @Test
    void noFilesNoGroups() {
        assertEquals(0, Grouping.byRegex(List.of(), "(a)").length);
    }

    // ---- helpers ----

    @Test
    void renumberingFollowsFirstAppearance() {
        assertArrayEquals(new int[] {0, 1, 0, 2, 1}, Grouping.renumber(new int[] {42, -3, 42, 7, -3}));
        assertEquals(3, Grouping.count(new int[] {42, -3, 42, 7, -3}));
        assertArrayEquals(new int[] {0, 1, 2}, Grouping.singletons(3));
    }

    // ---- by image content ----

    @Test
    void aNearDuplicatePairAmongRandomImagesSharesAGroupAndTheOthersStayAlone() {
        Random rnd = new Random(3);
        List<float[]> f = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            f.add(randomWithCommonComponent(rnd, 64));
        }
        float[] base = f.get(5);
        f.add(jitter(base, rnd, 0.02)); // index 30: a second photograph of part 5
        float[][] features = f.toArray(float[][]::new);

        int[] g = Grouping.nearDuplicates(features, Grouping.DEFAULT_MIN_COSINE);

        assertEquals(g[5], g[30]);
        assertEquals(30, Grouping.count(g), Arrays.toString(g)); // every other image is alone,
        // although the shared offset puts every raw cosine above 0.97: centring is what tells them apart.
        assertTrue(rawCosine(features[0], features[1]) > 0.97);
    }

    @Test
    void similarityIsTransitiveThroughAnImageInBetween() {
        // a, b, c turn by 10 degrees each: a~b and b~c at cos 10° = 0.985, a and c at cos 20° = 0.940.
        // Each vector comes with its negation, so the mean is exactly zero and centring changes nothing.
        Random rnd = new Random(4);
        int d = 32;
        float[] a = unitAt(d, 0);
        float[] b = unitAt(d, Math.toRadians(10));
        float[] c = unitAt(d, Math.toRadians(20));
        List<float[]> withB = new ArrayList<>(List.of(a, b, c, neg(a), neg(b), neg(c)));
        List<float[]> withoutB = new ArrayList<>(List.of(a, c, neg(a), neg(c)));
        for (int i = 0; i < 10; i++) {
            float[] r = gaussian(rnd, d);
            withB.addAll(List.of(r, neg(r)));
            withoutB.addAll(List.of(r, neg(r)));
        }

        int[] g = Grouping.nearDuplicates(withB.toArray(float[][]::new), 0.97);
        assertEquals(g[0], g[1]);
        assertEquals(g[1], g[2]);
        assertEquals(g[3], g[5]);
        assertNotEquals(g[0], g[3]);
        assertEquals(2 + 20, Grouping.count(g), Arrays.toString(g));

        int[] h = Grouping.nearDuplicates(withoutB.toArray(float[][]::new), 0.97);
        assertNotEquals(h[0], h[1], "a and c alone are below the threshold");
    }

    @Test
    void twoIdenticalImagesAreOneGroupEvenThoughCentringLeavesThemNoDirection() {
        float[] v = {1, 2, 3};
        assertArrayEquals(new int[] {0, 0}, Grouping.nearDuplicates(new float[][] {v, v.clone()}, 0.97));
        assertEquals(0, Grouping.nearDuplicates(new float[0][], 0.97).length);
    }

    @Test
    void aThresholdOutsideTheCosineRangeIsRejected() {
        assertThrows(VigilException.class, () -> Grouping.nearDuplicates(new float[][] {{1}}, 1.5));
    }

    // ---- suggested threshold ----

    @Test
    void suggestedThresholdSitsHalfwayFromTheTypicalNearestNeighbourToIdenticalAndFindsThePlantedPair() {
        Random rnd = new Random(5);
        List<float[]> f = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            f.add(randomWithCommonComponent(rnd, 64));
        }
        f.add(jitter(f.get(11), rnd, 0.1)); // a noisier second photograph
        float[][] features = f.toArray(float[][]::new);

        double[] nn = Grouping.nearestNeighbourCosines(features);
        double[] sorted = nn.clone();
        Arrays.sort(sorted);
        double median = sorted[sorted.length / 2];
        double t = Grouping.suggestedThreshold(features);

        assertEquals((1 + median) / 2, t, 1e-12);
        assertTrue(t < nn[40], "the pair (" + nn[40] + ") is above the threshold " + t);
        assertTrue(t > sorted[sorted.length - 3], "every unrelated image is below the threshold " + t);
        int[] g = Grouping.nearDuplicates(features, t);
        assertEquals(g[11], g[40]);
        assertEquals(40, Grouping.count(g));
    }

    @Test
    void whenEveryPartIsPhotographedTwiceTheCapStillJoinsEveryPair() {
        Random rnd = new Random(6);
        List<float[]> f = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            float[] part = randomWithCommonComponent(rnd, 64);
            f.add(part);
            f.add(jitter(part, rnd, 0.05));
        }
        float[][] features = f.toArray(float[][]::new);

        double t = Grouping.suggestedThreshold(features);

        assertEquals(Grouping.DEFAULT_MIN_COSINE, t);
        int[] g = Grouping.nearDuplicates(features, t);
        for (int i = 0; i < 40; i += 2) {
            assertEquals(g[i], g[i + 1], "part " + i / 2);
        }
        assertEquals(20, Grouping.count(g));
    }

    @Test
    void partsOfOneClassThatLookAlikeDoNotChainIntoOneGroup() {
        // Three classes, 20 parts each: class centre + what sets the part apart; 5 parts per class shot twice.
        Random rnd = new Random(8);
        int d = 128;
        List<float[]> f = new ArrayList<>();
        List<Integer> partOf = new ArrayList<>();
        int parts = 0;
        for (int c = 0; c < 3; c++) {
            float[] centre = scaled(gaussian(rnd, d), 1.0f);
            for (int p = 0; p < 20; p++) {
                float[] part = plus(centre, scaled(gaussian(rnd, d), 0.8f));
                f.add(part);
                partOf.add(parts);
                if (p < 5) {
                    f.add(jitter(part, rnd, 0.1));
                    partOf.add(parts);
                }
                parts++;
            }
        }
        float[][] features = f.toArray(float[][]::new);

        double t = Grouping.suggestedThreshold(features);
        int[] g = Grouping.nearDuplicates(features, t);

        assertTrue(t < Grouping.DEFAULT_MIN_COSINE, "varied parts give a lower threshold than the cap: " + t);
        assertArrayEquals(Grouping.renumber(partOf.stream().mapToInt(Integer::intValue).toArray()), g,
                "threshold " + t);
    }

    @Test
    void fewImagesGetTheDefaultThreshold() {
        Random rnd = new Random(9);
        float[][] f = new float[Grouping.MIN_IMAGES_FOR_SUGGESTION - 1][];
        for (int i = 0; i < f.length; i++) {
            f[i] = gaussian(rnd, 16);
        }
        assertEquals(Grouping.DEFAULT_MIN_COSINE, Grouping.suggestedThreshold(f));
    }

    // ---- vectors ----

    /** A feature vector like a backbone's: a large shared positive offset plus what is particular to the image. */
    private static float[] randomWithCommonComponent(Random rnd, int d) {
        float[] v = gaussian(rnd, d);
        for (int k = 0; k < d; k++) {
            v[k] += 8;
        }
        return v;
    }

    private static float[] gaussian(Random rnd, int d) {
        float[] v = new float[d];
        for (int k = 0; k < d; k++) {
            v[k] = (float) rnd.nextGaussian();
        }
        return v;
    }

    /** {@code v} plus Gaussian noise of {@code sigma} per component (the image part of v has sigma 1). */
    private static float[] jitter(float[] v, Random rnd, double sigma) {
        float[] w = v.clone();
        for (int k = 0; k < w.length; k++) {
            w[k] += (float) (sigma * rnd.nextGaussian());
        }
        return w;
    }

    private static float[] unitAt(int d, double angle) {
        float[] v = new float[d];
        v[0] = (float) Math.cos(angle);
        v[1] = (float) Math.sin(angle);
        return v;
    }

    private static float[] neg(float[] v) {
        float[] w = new float[v.length];
        for (int k = 0; k < v.length; k++) {
            w[k] = -v[k];
        }
        return w;
    }

    private static float[] scaled(float[] v, float s) {
        float[] w = v.clone();
        for (int k = 0; k < w.length; k++) {
            w[k] *= s;
        }
        return w;
    }

    private static float[] plus(float[] a, float[] b) {
        float[] w = a.clone();
        for (int k = 0; k < w.length; k++) {
            w[k] += b[k];
        }
        return w;
    }

    private static double rawCosine(float[] a, float[] b) {
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int k = 0; k < a.length; k++) {
            ab += a[k] * b[k];
            aa += a[k] * a[k];
            bb += b[k] * b[k];
        }
        return ab / Math.sqrt(aa * bb);
    }
}
