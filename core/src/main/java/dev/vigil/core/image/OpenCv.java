package dev.vigil.core.image;


/** Loads OpenCV's native library once per JVM. */
public final class OpenCv {
    private static volatile boolean loaded;

    private OpenCv() {}

    public static void load() {
        if (!loaded) {
            synchronized (OpenCv.class) {
                if (!loaded) {
                    nu.pattern.OpenCV.loadLocally();
                    loaded = true;
                }
            }
        }
    }
}
