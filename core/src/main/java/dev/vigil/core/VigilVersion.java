package dev.vigil.core;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * Vigil's version as the build stamped it ({@code version.properties}, filtered by Maven from the project's version):
 * status messages, the {@code vigil_build_info} metric and the graphs the trainer writes report it.
 */
public final class VigilVersion {
    public static final String VALUE = read();

    private VigilVersion() {}

    private static String read() {
        Properties p = new Properties();
        try (InputStream in = VigilVersion.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // reported as unknown below
        }
        String v = p.getProperty("version", "");
        return v.isBlank() || v.startsWith("${") ? "unknown" : v;
    }
}
