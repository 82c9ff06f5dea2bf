package dev.vigil.app.inference;

import dev.vigil.app.preprocess.FramePreprocessor;
import dev.vigil.app.testing.TestModels;
import dev.vigil.core.model.OnnxOutputs;
import dev.vigil.trainer.SharedAssets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opencv.core.Mat;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * Which embedding finds examples of the right class (docs/benchmarks.md, "Similar samples"): on 40 defective and 40 ok
 * casting test images judged by a package trained on 10 of each, leave-one-out 1-NN and 5-NN label agreement and the
 * mean cosine within and across classes, for the raw pooled features, the drift output as it is (standardised by the
 * predicted class) and what the service stores (standardised about the centre of the classes). A measurement, not
 * part of the suite (the name does not end in Test): {@code ./mvnw -B -o -q -pl app test -Dtest=EmbeddingChoiceCheck
 * -Dsurefire.failIfNoSpecifiedTests=false}, figures on lines starting {@code CHECK}.
 */
class EmbeddingChoiceCheck {
    @TempDir
    Path tmp;

    @Test
    void rawVersusDriftOutputVersusCentred() throws Exception {
        LoadedModel.initEngine();
        dev.vigil.core.image.OpenCv.load();
        Path pkg = TestModels.casting(tmp, "m", 0, 10, 3, 42);
        List<Path> imgs = new ArrayList<>();
        List<Integer> truth = new ArrayList<>();
        for (String cls : List.of("defective", "ok")) {
            try (Stream<Path> s = Files.list(SharedAssets.casting().resolve("test").resolve(cls))) {
                s.sorted().limit(40).forEach(p -> {
                    imgs.add(p);
                    truth.add(cls.equals("ok") ? 1 : 0);
                });
            }
        }
        try (LoadedModel m = LoadedModel.open(pkg, "cpu")) {
            var pre = m.preprocessing();
            int n = imgs.size();
            float[][] raw = new float[n][];
            float[][] centred = new float[n][];
            float[][] zs = new float[n][];
            var t = OnnxOutputs.floatInitializers(m.modelPackage().modelFile(), Set.of("vigil_drift_mean",
                    "vigil_drift_scale"));
            float[] mean = t.get("vigil_drift_mean").values();
            float[] scale = t.get("vigil_drift_scale").values();
            int k = (int) t.get("vigil_drift_mean").dims()[0];
            int d = (int) t.get("vigil_drift_mean").dims()[1];
            int predictedRight = 0;
            for (int i = 0; i < n; i++) {
                Mat img = Imgcodecs.imread(imgs.get(i).toString(), Imgcodecs.IMREAD_COLOR);
                float[] in = new float[pre.valuesPerImage()];
                FramePreprocessor.into(img, pre, in, 0);
                img.release();
                var r = m.infer(in, 1);
                centred[i] = r.embedding(0);
                float[] z = r.drift()[0];
                zs[i] = unit(z.clone());
                int c = LoadedModel.headClass(r.probabilities()[0], k, m.modelPackage().okIndex());
                int okIdx = m.labels().indexOf("ok");
                predictedRight += ((c == okIdx ? 1 : 0) == truth.get(i)) ? 1 : 0;
                float[] f = new float[d];
                for (int j = 0; j < d; j++) {
                    f[j] = z[j] / scale[c * d + j] + mean[c * d + j];
                }
                raw[i] = unit(f);
            }
            System.out.printf("CHECK model accuracy %d/%d, dims %d%n", predictedRight, n, d);
            report("raw", raw, truth);
            report("z (drift output)", zs, truth);
            report("centred", centred, truth);
        }
    }

    private static float[] unit(float[] v) {
        double s = 0;
        for (float x : v) {
            s += x * x;
        }
        for (int i = 0; i < v.length; i++) {
            v[i] /= (float) Math.sqrt(s);
        }
        return v;
    }

    private static void report(String name, float[][] e, List<Integer> truth) {
        int n = e.length;
        int right = 0;
        int right5 = 0;
        double same = 0;
        double other = 0;
        int ns = 0;
        int no = 0;
        for (int i = 0; i < n; i++) {
            double best = -2;
            int bl = -1;
            List<double[]> all = new ArrayList<>();
            for (int j = 0; j < n; j++) {
                if (i == j) {
                    continue;
                }
                double s = 0;
                for (int x = 0; x < e[i].length; x++) {
                    s += e[i][x] * e[j][x];
                }
                all.add(new double[] {s, truth.get(j)});
                if (truth.get(i).equals(truth.get(j))) {
                    same += s;
                    ns++;
                } else {
                    other += s;
                    no++;
                }
                if (s > best) {
                    best = s;
                    bl = truth.get(j);
                }
            }
            right += bl == truth.get(i) ? 1 : 0;
            all.sort((a, b) -> Double.compare(b[0], a[0]));
            int votes = 0;
            for (int q = 0; q < 5; q++) {
                votes += all.get(q)[1] == truth.get(i) ? 1 : 0;
            }
            right5 += votes >= 3 ? 1 : 0;
        }
        System.out.printf("CHECK %-18s 1-NN %d/%d, 5-NN %d/%d, mean cos same class %.3f, other class %.3f%n", name,
                right, n, right5, n, same / ns, other / no);
    }
}
