package dev.vigil.trainer.features;

/**
 * How many bytes of cut maps one extracted set may hold in memory; a set that needs more leaves them in the feature
 * cache and streams them back batch by batch ({@link CutMap.OnDisk}). The default is a quarter of the Java heap, so a
 * training sized by {@code training.maxMemoryMb} stays inside it whatever the image count. The system property
 * {@value #PROPERTY} (megabytes) overrides it; 0 streams every set.
 */
public final class FeatureMemory {
    public static final String PROPERTY = "vigil.features.memoryMb";

    private FeatureMemory() {}

    public static long budgetBytes() {
        String set = System.getProperty(PROPERTY);
        if (set != null && !set.isBlank()) {
            try {
                long mb = Long.parseLong(set.trim());
                if (mb >= 0) {
                    return mb << 20;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException("-D" + PROPERTY + "=" + set + " is not a number of megabytes (0 or"
                    + " more); leave it unset for a quarter of the heap");
        }
        return Runtime.getRuntime().maxMemory() / 4;
    }

    /** True when {@code items} cut maps of {@code values} values each, at {@code bytesPerValue}, exceed the budget. */
    public static boolean mustStream(long items, long values, int bytesPerValue) {
        return items * values * bytesPerValue > budgetBytes();
    }
}
