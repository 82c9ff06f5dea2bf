package dev.vigil.trainer.combined;

import dev.vigil.core.model.Manifest;

import dev.vigil.core.VigilException;
import dev.vigil.trainer.anomaly.AnomalyModel;
import dev.vigil.trainer.eval.Auroc;
import dev.vigil.trainer.eval.GroupKFold;
import dev.vigil.trainer.eval.Metrics;
import dev.vigil.trainer.eval.OperatingPoint;
import dev.vigil.trainer.train.Calibration;
import dev.vigil.trainer.train.TransferTrainer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Joins a trained supervised head and an anomaly memory of the same dataset (same backbone, same input) into a
 * {@link CombinedModel}: the {@link ScoreCombination} is fitted on the out-of-fold scores both already have (the
 * supervised head's k-fold probabilities; the good images' out-of-fold distances and the defects' distances to a
 * memory that never holds a defect). The regression gets out-of-fold scores of its own (fitted on four fifths of
 * the parts, applied to the fifth): the memory's score joins only when, so judged, it ranks the labelled images
 * better than the supervised score alone; the defect threshold is the highest that reaches the target recall on
 * those scores, and the package's figures are those of the final score with the novelty guard. The package itself
 * carries the weights fitted on every image.
 *
 * <pre>{@code
 * trainer.train();                                         // a TransferTrainer
 * AnomalyModel memory = new AnomalyTrainer(bb, data, anomalyOptions, trainer.plan().preprocessing(), log).train();
 * CombinedModel m = CombinedTrainer.combine(trainer, memory, 0.99, log);
 * new CombinedExporter(m).write(out);
 * }</pre>
 */
public final class CombinedTrainer {
    private CombinedTrainer() {}

    public static CombinedModel combine(TransferTrainer supervised, AnomalyModel anomaly, double targetRecall,
            PrintStream log) {
        int ok = supervised.okIndex();
        if (ok < 0) {
            throw new VigilException("a combined supervised + anomaly package needs a good-part class (ok, good,"
                    + " pass or normal) in " + supervised.dataset().root());
        }
        List<String> classes = supervised.dataset().classes();
        if (classes.contains(Manifest.ANOMALY_LABEL)) {
            throw new VigilException("class folder '" + Manifest.ANOMALY_LABEL + "' in "
                    + supervised.dataset().root() + " has the name of the class a memory of good parts adds; rename"
                    + " the folder (e.g. unknown-defect)");
        }
        var a = supervised.plan().preprocessing();
        var b = anomaly.plan().preprocessing();
        if (a.width() != b.width() || a.height() != b.height() || a.fit() != b.fit()
                || !java.util.Arrays.equals(a.mean(), b.mean()) || !java.util.Arrays.equals(a.std(), b.std())) {
            throw new IllegalArgumentException("the supervised head and the anomaly memory must read the same input");
        }
        TransferTrainer.OutOfFold oof = supervised.outOfFold();
        Map<Path, Double> distance = new HashMap<>();
        AnomalyModel.Scores scores = anomaly.scores();
        for (int i = 0; i < scores.images().size(); i++) {
            distance.put(scores.images().get(i).path(), scores.distances()[i]);
        }
        List<Integer> both = new ArrayList<>();
        for (int i = 0; i < oof.images().size(); i++) {
            if (distance.containsKey(oof.images().get(i).path())) {
                both.add(i);
            }
        }
        int n = both.size();
        double[] l = new double[n];
        double[] z = new double[n];
        boolean[] defect = new boolean[n];
        int[] truth = new int[n];
        float[][] supervisedProbs = new float[n][];
        var cal = anomaly.calibration();
        for (int j = 0; j < n; j++) {
            int i = both.get(j);
            supervisedProbs[j] = oof.probabilities()[i];
            truth[j] = oof.labels()[i];
            defect[j] = truth[j] != ok;
            l[j] = ScoreCombination.supervisedLogit(supervisedProbs[j][ok]);
            z[j] = (distance.get(oof.images().get(i).path()) - cal.threshold()) / cal.scale();
        }
        // the regression's own out-of-fold scores: fitted on the other folds' images (parts kept together), so the
        // choice below and the threshold are judged on images the weights did not see
        int[] groups = partsOf(supervised, oof, both);
        int[] strata = new int[n];
        for (int j = 0; j < n; j++) {
            strata[j] = defect[j] ? 0 : 1;
        }
        int k = GroupKFold.feasibleFolds(strata, groups, NESTED_FOLDS);
        double[] q = new double[n];
        ScoreCombination full = ScoreCombination.fit(l, z, defect);
        if (k >= 2 && full.method().equals("logistic")) {
            int[] fold = GroupKFold.assign(strata, groups, k, supervised.options().seed());
            for (int f = 0; f < k; f++) {
                final int held = f;
                int[] in = IntStream.range(0, n).filter(j -> fold[j] != held).toArray();
                ScoreCombination part = ScoreCombination.fit(pick(l, in), pick(z, in), pick(defect, in));
                for (int j = 0; j < n; j++) {
                    if (fold[j] == held) {
                        q[j] = part.regression(l[j], z[j]);
                    }
                }
            }
        } else {
            for (int j = 0; j < n; j++) {
                q[j] = full.regression(l[j], z[j]);
            }
        }
        double supervisedAuroc = Auroc.of(pick(l, defect, true), pick(l, defect, false));
        double regressionAuroc = Auroc.of(pick(q, defect, true), pick(q, defect, false));
        ScoreCombination c = full;
        if (full.method().equals("logistic") && !(regressionAuroc > supervisedAuroc)) {
            // the memory's score did not rank the images better than the head alone, out of fold: leave it to the
            // guard
            log.printf(Locale.ROOT, "the memory's score does not rank the labelled images better out of fold (AUROC"
                    + " %.4f with it, %.4f without): the supervised score alone, with the novelty guard%n",
                    regressionAuroc, supervisedAuroc);
            c = ScoreCombination.supervisedOnly();
            for (int j = 0; j < n; j++) {
                q[j] = c.regression(l[j], z[j]);
            }
            regressionAuroc = supervisedAuroc;
        }
        OperatingPoint onQ = OperatingPoint.choose(pick(q, defect, true), pick(q, defect, false), targetRecall);
        double tau = onQ.defectThreshold();
        double[] d = new double[n];
        int guardFalse = 0;
        int guardCatch = 0;
        List<String> labels = new ArrayList<>(classes);
        labels.add(Manifest.ANOMALY_LABEL);
        float[][] probs = new float[n][];
        for (int j = 0; j < n; j++) {
            d[j] = c.probability(l[j], z[j], tau);
            if (d[j] >= tau && q[j] < tau) {
                if (defect[j]) {
                    guardCatch++;
                } else {
                    guardFalse++;
                }
            }
            probs[j] = classProbabilities(supervisedProbs[j], ok, (float) d[j]);
        }
        double[] dDefect = pick(d, defect, true);
        double[] dGood = pick(d, defect, false);
        OperatingPoint op = new OperatingPoint(tau, targetRecall, dDefect.length == 0 ? Double.NaN
                : OperatingPoint.share(dDefect, tau), OperatingPoint.share(dGood, tau), dDefect.length, dGood.length);
        Calibration base = supervised.result().calibration();
        Calibration calibration = Calibration.of(base.method(), base.folds(), base.groups(),
                new double[][] {dDefect, dGood}, op, targetRecall);
        Metrics validation = Metrics.of(labels, truth, probs, ok, tau);
        double[] sup = new double[n];
        for (int j = 0; j < n; j++) {
            sup[j] = 1 - supervisedProbs[j][ok];
        }
        CombinedModel.Figures figures = new CombinedModel.Figures(n, dDefect.length, supervisedAuroc,
                Auroc.of(pick(z, defect, true), pick(z, defect, false)), regressionAuroc, Auroc.of(dDefect, dGood),
                guardFalse, guardCatch);
        log.printf(Locale.ROOT, "combined score (%s) over %d out-of-fold images (%d defects): AUROC supervised %.4f,"
                + " anomaly %.4f, combined %.4f; threshold %.4f: recall %.3f, false rejects %.2f%%; the novelty guard"
                + " (anomaly logit >= 0) adds %d false reject%s and %d catch%s%n", c, n, dDefect.length,
                figures.supervisedAuroc(), figures.anomalyAuroc(), figures.combinedAuroc(), tau,
                op.validationRecall(), 100 * op.validationFalseRejectRate(), guardFalse, guardFalse == 1 ? "" : "s",
                guardCatch, guardCatch == 1 ? "" : "es");
        if (calibration.warning() != null) {
            log.println("warning: " + calibration.warning());
        }
        return new CombinedModel(supervised, anomaly, c, labels, op, OperatingPoint.curve(dDefect, dGood), validation,
                calibration, figures);
    }

    /**
     * The package's class probabilities from the supervised ones and the defect probability {@code d}: the good
     * class gets {@code 1 - d}, each defect class {@code d} times its supervised probability, and the anomaly class
     * (last) {@code d} times the supervised good probability — the share of the defect the supervised head cannot
     * name. They sum to 1 and {@code 1 - P(ok) = d}.
     */
    public static float[] classProbabilities(float[] supervised, int ok, float d) {
        float[] out = new float[supervised.length + 1];
        for (int k = 0; k < supervised.length; k++) {
            out[k] = k == ok ? 1 - d : d * supervised[k];
        }
        out[supervised.length] = d * supervised[ok];
        return out;
    }

    /** Folds of the regression's own out-of-fold scores. */
    static final int NESTED_FOLDS = 5;

    /** The part of each scored image (as the supervised trainer grouped them), or one part per image. */
    private static int[] partsOf(TransferTrainer t, TransferTrainer.OutOfFold oof, List<Integer> both) {
        Map<Path, Integer> partOf = new HashMap<>();
        List<dev.vigil.trainer.data.LabelledImage> all = t.labelledImages();
        int[] g = t.groups();
        for (int i = 0; all != null && g != null && i < all.size(); i++) {
            partOf.put(all.get(i).path(), g[i]);
        }
        int[] out = new int[both.size()];
        int next = g == null ? 0 : java.util.Arrays.stream(g).max().orElse(0) + 1;
        for (int j = 0; j < out.length; j++) {
            Integer p = partOf.get(oof.images().get(both.get(j)).path());
            out[j] = p != null ? p : next++;
        }
        return dev.vigil.trainer.eval.Grouping.renumber(out);
    }

    private static double[] pick(double[] v, int[] idx) {
        return java.util.Arrays.stream(idx).mapToDouble(i -> v[i]).toArray();
    }

    private static boolean[] pick(boolean[] v, int[] idx) {
        boolean[] out = new boolean[idx.length];
        for (int i = 0; i < idx.length; i++) {
            out[i] = v[idx[i]];
        }
        return out;
    }

    private static double[] pick(double[] v, boolean[] mask, boolean want) {
        return java.util.stream.IntStream.range(0, v.length).filter(i -> mask[i] == want).mapToDouble(i -> v[i])
                .toArray();
    }
}
