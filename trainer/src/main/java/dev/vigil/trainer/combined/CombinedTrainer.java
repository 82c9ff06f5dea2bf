package dev.vigil.trainer.combined;

import dev.vigil.trainer.VigilException;
import dev.vigil.trainer.anomaly.AnomalyGraph;
import dev.vigil.trainer.anomaly.AnomalyModel;
import dev.vigil.trainer.eval.Auroc;
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

/**
 * Joins a trained supervised head and an anomaly memory of the same dataset (same backbone, same input) into a
 * {@link CombinedModel}: the {@link ScoreCombination} is fitted on the out-of-fold scores both already have (the
 * supervised head's k-fold probabilities; the good images' out-of-fold distances and the defects' distances to a
 * memory that never holds a defect), the defect threshold is the highest that reaches the target recall on the
 * regression's scores, and the package's figures are those of the final score with the novelty guard.
 *
 * <p>The three weights and the threshold are chosen on the same out-of-fold scores they are reported on; with
 * three parameters over hundreds of images the optimism is small, and {@code vigil benchmark --kolektor} measures it
 * on parts held out of everything.
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
        if (classes.contains(AnomalyGraph.ANOMALY_LABEL)) {
            throw new VigilException("class folder '" + AnomalyGraph.ANOMALY_LABEL + "' in "
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
        ScoreCombination c = ScoreCombination.fit(l, z, defect);
        double[] q = new double[n];
        for (int j = 0; j < n; j++) {
            q[j] = c.regression(l[j], z[j]);
        }
        OperatingPoint onQ = OperatingPoint.choose(pick(q, defect, true), pick(q, defect, false), targetRecall);
        double tau = onQ.defectThreshold();
        double[] d = new double[n];
        int guardFalse = 0;
        int guardCatch = 0;
        List<String> labels = new ArrayList<>(classes);
        labels.add(AnomalyGraph.ANOMALY_LABEL);
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
        CombinedModel.Figures figures = new CombinedModel.Figures(n, dDefect.length,
                Auroc.of(pick(l, defect, true), pick(l, defect, false)),
                Auroc.of(pick(z, defect, true), pick(z, defect, false)),
                Auroc.of(pick(q, defect, true), pick(q, defect, false)), Auroc.of(dDefect, dGood), guardFalse,
                guardCatch);
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

    private static double[] pick(double[] v, boolean[] mask, boolean want) {
        return java.util.stream.IntStream.range(0, v.length).filter(i -> mask[i] == want).mapToDouble(i -> v[i])
                .toArray();
    }
}
