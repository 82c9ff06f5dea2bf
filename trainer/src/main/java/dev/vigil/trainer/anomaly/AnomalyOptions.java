package dev.vigil.trainer.anomaly;

import dev.vigil.core.VigilException;
import dev.vigil.trainer.train.InputGeometry;
import java.util.List;
import java.util.Locale;

/**
 * Everything that shapes an anomaly model (a model from good parts alone). {@link #defaults()} is the one place the
 * defaults live.
 *
 * @param taps backbone blocks whose feature maps describe a patch, counted back from the final features as
 *     {@code --taps} counts them (squeezenet: 4 = fire5, 6 = fire3)
 * @param geometry the input size asked for ({@link InputGeometry#AUTO}: chosen from the good images)
 * @param neighbourhood side of the square of grid cells each patch vector is averaged over (odd; 1 = none)
 * @param memorySize the most memory rows (patch vectors) the model keeps
 * @param coresetFraction the share of all good patches the memory keeps, when that is fewer than {@code memorySize}
 * @param targetFalseRejectRate share of good parts the threshold may reject (out of fold)
 * @param folds folds of the out-of-fold calibration (fewer when the good images show fewer distinct parts)
 * @param groupBy a regular expression whose first group names the part in a file name (images of one part stay in
 *     one fold); null = near-duplicate images are grouped
 * @param okLabel the good-part folder; null = ok, good, pass or normal
 * @param seed seeds the projection, the coreset's first point and the folds
 */
public record AnomalyOptions(List<Integer> taps, InputGeometry geometry, int neighbourhood, int memorySize,
        double coresetFraction, double targetFalseRejectRate, int folds, String groupBy, String okLabel, long seed) {

    /** fire3 + fire5 on squeezenet: see docs/trainer.md for the comparison. */
    public static final List<Integer> DEFAULT_TAPS = List.of(6, 4);
    public static final int DEFAULT_MEMORY_SIZE = 16_384;
    /** Fewest good images that leave enough held-out scores to place a threshold. */
    public static final int MIN_GOOD_IMAGES = 10;

    public AnomalyOptions {
        taps = List.copyOf(taps);
        java.util.Objects.requireNonNull(geometry, "geometry");
        if (taps.isEmpty() || taps.stream().anyMatch(t -> t < 0)) {
            throw new VigilException("--taps must name one or more blocks (0 = the final features, counted back),"
                    + " found " + taps);
        }
        if (neighbourhood < 1 || neighbourhood > 9 || neighbourhood % 2 == 0) {
            throw new VigilException("--neighbourhood must be an odd number from 1 to 9, found " + neighbourhood);
        }
        if (memorySize < 16 || memorySize > 1 << 20) {
            throw new VigilException("--memory-size must be between 16 and 1048576 rows, found " + memorySize);
        }
        if (!(coresetFraction > 0 && coresetFraction <= 1)) {
            throw new VigilException("--coreset-fraction must be in (0, 1], found " + coresetFraction);
        }
        if (!(targetFalseRejectRate > 0 && targetFalseRejectRate < 0.5)) {
            throw new VigilException(String.format(Locale.ROOT, "--target-frr must be in (0, 0.5), found %s",
                    targetFalseRejectRate));
        }
        if (folds < 2 || folds > 20) {
            throw new VigilException("--folds must be between 2 and 20, found " + folds);
        }
    }

    public static AnomalyOptions defaults() {
        return new AnomalyOptions(DEFAULT_TAPS, InputGeometry.AUTO, 3, DEFAULT_MEMORY_SIZE, 0.1, 0.01, 5, null, null,
                42L);
    }

    public AnomalyOptions withTaps(List<Integer> t) {
        return new AnomalyOptions(t, geometry, neighbourhood, memorySize, coresetFraction, targetFalseRejectRate,
                folds, groupBy, okLabel, seed);
    }

    public AnomalyOptions withGeometry(InputGeometry g) {
        return new AnomalyOptions(taps, g, neighbourhood, memorySize, coresetFraction, targetFalseRejectRate, folds,
                groupBy, okLabel, seed);
    }

    public AnomalyOptions withNeighbourhood(int n) {
        return new AnomalyOptions(taps, geometry, n, memorySize, coresetFraction, targetFalseRejectRate, folds,
                groupBy, okLabel, seed);
    }

    public AnomalyOptions withMemory(int size, double fraction) {
        return new AnomalyOptions(taps, geometry, neighbourhood, size, fraction, targetFalseRejectRate, folds,
                groupBy, okLabel, seed);
    }

    public AnomalyOptions withCalibration(double frr, int k, String regex) {
        return new AnomalyOptions(taps, geometry, neighbourhood, memorySize, coresetFraction, frr, k, regex, okLabel,
                seed);
    }

    public AnomalyOptions withOkLabel(String ok) {
        return new AnomalyOptions(taps, geometry, neighbourhood, memorySize, coresetFraction, targetFalseRejectRate,
                folds, groupBy, ok, seed);
    }

    public AnomalyOptions withSeed(long s) {
        return new AnomalyOptions(taps, geometry, neighbourhood, memorySize, coresetFraction, targetFalseRejectRate,
                folds, groupBy, okLabel, s);
    }
}
