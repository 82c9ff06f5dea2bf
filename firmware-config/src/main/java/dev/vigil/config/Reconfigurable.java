package dev.vigil.config;

import java.util.ArrayList;
import java.util.List;

/**
 * A part of the running service that applies its own section of the configuration (as Eclipse Kura's
 * {@code ConfigurableComponent} does): a configuration change is then a walk over the parts, each applying what
 * concerns it and saying what it did.
 */
@FunctionalInterface
public interface Reconfigurable {
    /** Applies {@code next} where it differs from {@code old} (both valid) and records what that did. */
    void reconfigure(DeviceConfig old, DeviceConfig next, Report report);

    /** What a configuration change did: applied at once, parts restarted, and keys that need a restart. */
    final class Report {
        private final List<String> hot = new ArrayList<>();
        private final List<String> restarted = new ArrayList<>();
        private final List<String> restartNeeded = new ArrayList<>();

        public void hot(String what) {
            hot.add(what);
        }

        public void restarted(String what) {
            restarted.add(what);
        }

        public void restartNeeded(String key) {
            restartNeeded.add(key);
        }

        public List<String> hot() {
            return List.copyOf(hot);
        }

        public List<String> restarted() {
            return List.copyOf(restarted);
        }

        public List<String> restartNeeded() {
            return List.copyOf(restartNeeded);
        }
    }
}
