package dev.vigil.app.line;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.core.VigilException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;

/**
 * Setting the lot from outside: {@code {"camera": "cam1", "lot": "L-123"}} ({@code camera} left out = every camera;
 * {@code "lot": ""} clears it), the body of {@code PUT /api/lot} and the payload of {@code <prefix>/lot/set}. One
 * parser for both, so both refuse the same things with the same words.
 */
public final class LotCommand {
    private static final System.Logger LOG = System.getLogger(LotCommand.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FORM = "{\"camera\": \"cam1\", \"lot\": \"L-123\"} (camera left out = every camera;"
            + " \"lot\": \"\" clears it)";

    private LotCommand() {}

    /** What a command changed: the cameras and the lot now in force for them (null = cleared). */
    public record Applied(List<String> cameras, String lot) {}

    /**
     * Parses {@code json} and sets the lot of the camera it names, or of every camera in {@code cameras}.
     *
     * @param cameras the configured camera ids
     * @throws VigilException when the command is not JSON of that form, names an unknown camera or a bad lot id (the
     *     message says which and what is expected); nothing changes then
     */
    public static Applied apply(Lots lots, Collection<String> cameras, String json) {
        JsonNode n;
        try {
            n = json == null || json.isBlank() ? null : JSON.readTree(json);
        } catch (IOException e) {
            throw new VigilException("the lot command is not JSON (" + e.getMessage().lines().findFirst().orElse("")
                    + "); send " + FORM);
        }
        if (n == null || !n.isObject()) {
            throw new VigilException("the lot command must be a JSON object: " + FORM + "; found "
                    + abbreviate(json));
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!key.equals("camera") && !key.equals("lot")) {
                throw new VigilException("unknown key '" + abbreviate(key) + "' in the lot command; it takes camera"
                        + " and lot: " + FORM);
            }
        }
        JsonNode lotNode = n.get("lot");
        if (lotNode != null && !lotNode.isNull() && !lotNode.isTextual()) {
            throw new VigilException("lot must be a string in quotes, found " + abbreviate(lotNode.toString()));
        }
        String lot = lotNode == null || lotNode.isNull() ? null : lotNode.textValue();
        String problem = Lots.problem(lot);
        if (problem != null) {
            throw new VigilException(problem);
        }
        JsonNode cameraNode = n.get("camera");
        List<String> targets = new ArrayList<>();
        if (cameraNode == null || cameraNode.isNull()) {
            targets.addAll(cameras);
        } else if (!cameraNode.isTextual()) {
            throw new VigilException("camera must be a camera id in quotes, found "
                    + abbreviate(cameraNode.toString()));
        } else if (!cameras.contains(cameraNode.textValue())) {
            throw new VigilException("no camera '" + abbreviate(cameraNode.textValue()) + "'; the cameras are "
                    + cameras + " (leave camera out to set every camera's lot)");
        } else {
            targets.add(cameraNode.textValue());
        }
        for (String c : targets) {
            lots.set(c, lot);
        }
        return new Applied(List.copyOf(targets), targets.isEmpty() ? null : lots.of(targets.get(0)));
    }

    /**
     * {@code <prefix>/lot/set} over MQTT: {@link #apply}, logged (what changed, or why nothing did: a command has no
     * one to answer). Never throws.
     *
     * @return what changed; null when the command was refused
     */
    public static Applied fromMqtt(Lots lots, Collection<String> cameras, String payload) {
        try {
            Applied a = apply(lots, cameras, payload);
            LOG.log(System.Logger.Level.INFO, "lot of {0} {1} over MQTT (lot/set)", a.cameras(),
                    a.lot() == null ? "cleared" : "set to '" + a.lot() + "'");
            return a;
        } catch (VigilException e) {
            LOG.log(System.Logger.Level.WARNING, "lot/set over MQTT refused, no lot changed: {0}", e.getMessage());
            return null;
        }
    }

    private static String abbreviate(String s) {
        if (s == null) {
            return "nothing";
        }
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
