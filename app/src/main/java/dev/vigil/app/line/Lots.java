package dev.vigil.app.line;

import dev.vigil.core.VigilException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The lot or order id in force per camera: written by the PLC (its lot registers or node), over MQTT or HTTP, and
 * stamped on every part record from then on. One place for the rule a lot id follows.
 */
public final class Lots {
    /** Longest lot id: 16 Modbus registers of two ASCII characters each. */
    public static final int MAX_LENGTH = 32;

    private final Map<String, String> current = new ConcurrentHashMap<>();

    /**
     * Why {@code lot} is not a valid lot id, or null when it is: 1 to {@link #MAX_LENGTH} printable ASCII characters
     * (the empty string clears the lot and is valid too).
     */
    public static String problem(String lot) {
        if (lot == null) {
            return "the lot id is missing; give 1 to " + MAX_LENGTH + " printable ASCII characters, or \"\" to clear"
                    + " it";
        }
        if (lot.length() > MAX_LENGTH) {
            return "lot id '" + lot.substring(0, MAX_LENGTH) + "...' has " + lot.length() + " characters; at most "
                    + MAX_LENGTH;
        }
        if (!lot.matches("[\\x20-\\x7e]*")) {
            return "lot id '" + lot + "' has characters outside printable ASCII (space to ~)";
        }
        return null;
    }

    /** Sets the lot of {@code camera} ("" clears it); a bad id is refused with a {@link VigilException}. */
    public void set(String camera, String lot) {
        String p = problem(lot);
        if (p != null) {
            throw new VigilException(p);
        }
        String trimmed = lot.strip();
        if (trimmed.isEmpty()) {
            current.remove(camera);
        } else {
            current.put(camera, trimmed);
        }
    }

    /** The lot in force for {@code camera}; null when none. */
    public String of(String camera) {
        return current.get(camera);
    }

    /** Every camera's lot. */
    public Map<String, String> all() {
        return Map.copyOf(current);
    }
}
