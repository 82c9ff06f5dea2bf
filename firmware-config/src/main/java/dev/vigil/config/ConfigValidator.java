package dev.vigil.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The one path every configuration goes through before it is used, at start-up and for every change: the keys'
 * own constraints ({@link Key}, checked by {@link Schema}), then the rules that tie keys together. Every problem is
 * reported, each with its key path, the bad value and the rule.
 */
final class ConfigValidator {
    private ConfigValidator() {}

    static List<String> problems(DeviceConfig c) {
        List<String> p = new ArrayList<>(Schema.checkConstraints(c));
        if (c.schemaVersion() != DeviceConfig.SCHEMA_VERSION && c.schemaVersion() >= 1) {
            p.add("schemaVersion: " + c.schemaVersion() + " is not this Vigil's format ("
                    + DeviceConfig.SCHEMA_VERSION + "); read the file with ConfigLoader, which migrates it");
        }
        if (c.cameras().isEmpty()) {
            p.add("cameras: the list is empty; configure at least one camera");
        }
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < c.cameras().size(); i++) {
            DeviceConfig.Camera cam = c.cameras().get(i);
            if (cam == null) {
                continue;
            }
            String k = "cameras[" + i + "]";
            if (cam.id() != null && !ids.add(cam.id())) {
                p.add(k + ".id: '" + cam.id() + "' is used by another camera; camera ids must be unique");
            }
            source(p, k + ".source", cam.source());
            roi(p, k, cam);
            if (cam.decision() != c.decision() && cam.decision() != c.cameraDefaults().decision()) {
                decision(p, k + ".decision", cam.decision()); // (an inherited one is checked where it is written)
            }
        }
        decision(p, "decision", c.decision());
        decision(p, "cameraDefaults.decision", c.cameraDefaults().decision());
        DeviceConfig.Mqtt m = c.mqtt();
        if (m.url().matches(MqttUrl.PATTERN)) { // (a wrong scheme is reported by the key's pattern)
            try {
                MqttUrl.serverUri(m.url());
            } catch (IllegalArgumentException e) {
                p.add(e.getMessage());
            }
        }
        boolean tls = MqttUrl.tls(m.url());
        if (m.caFile() != null) {
            if (!Files.isReadable(Path.of(m.caFile()))) {
                p.add("mqtt.caFile: " + m.caFile() + " cannot be read; give the CA certificate (PEM) of the broker");
            }
            if (!tls) {
                p.add("mqtt.caFile: given, but mqtt.url " + m.url() + " is not TLS; use ssl://host:8883");
            }
        }
        if (m.passwordEnv() != null && m.passwordFile() != null) {
            p.add("mqtt.passwordFile: give the password one way, passwordEnv (" + m.passwordEnv() + ") or"
                    + " passwordFile, not both");
        }
        if (m.passwordEnv() != null && m.passwordEnv().matches("[A-Za-z_][A-Za-z0-9_]*")
                && System.getenv(m.passwordEnv()) == null) {
            p.add("mqtt.passwordEnv: the environment variable " + m.passwordEnv() + " is not set");
        }
        if (m.passwordFile() != null && !Files.isReadable(Path.of(m.passwordFile()))) {
            p.add("mqtt.passwordFile: " + m.passwordFile() + " cannot be read");
        }
        if ((m.passwordEnv() != null || m.passwordFile() != null) && m.username() == null) {
            p.add("mqtt.username: missing; a password is configured, so the broker needs a user name too");
        }
        for (int i = 0; i < c.model().trustedKeys().size(); i++) {
            String k = c.model().trustedKeys().get(i);
            if (k == null || !Files.isReadable(Path.of(k))) {
                p.add("model.trustedKeys[" + i + "]: " + k + " cannot be read; give a .pub file from 'vigil keygen'");
            }
        }
        DeviceConfig.Web w = c.web();
        if ((w.tlsCertificate() == null) != (w.tlsKey() == null)) {
            p.add("web." + (w.tlsKey() == null ? "tlsKey" : "tlsCertificate") + ": missing; HTTPS needs both"
                    + " web.tlsCertificate and web.tlsKey (PEM files)");
        }
        for (String[] f : new String[][] {{"tlsCertificate", w.tlsCertificate()}, {"tlsKey", w.tlsKey()}}) {
            if (f[1] != null && !Files.isReadable(Path.of(f[1]))) {
                p.add("web." + f[0] + ": " + f[1] + " cannot be read");
            }
        }
        if ("token".equals(w.metrics()) && (w.metricsTokenFile() == null
                || !Files.isReadable(Path.of(w.metricsTokenFile())))) {
            p.add("web.metricsTokenFile: " + (w.metricsTokenFile() == null ? "missing" : w.metricsTokenFile()
                    + " cannot be read") + "; web.metrics: token needs a readable file holding the token");
        }
        plc(p, c);
        if (c.training().modelCache() != null && Path.of(c.training().modelCache()).toFile().isFile()) {
            p.add("training.modelCache: " + c.training().modelCache() + " is a file; give a folder");
        }
        return p;
    }

    /** The PLC servers: known security policies, client addresses that are IP literals, ports that do not clash. */
    private static void plc(List<String> p, DeviceConfig c) {
        DeviceConfig.Plc plc = c.plc();
        for (int i = 0; i < plc.opcua().security().size(); i++) {
            String s = plc.opcua().security().get(i);
            if (!List.of("none", "basic256sha256").contains(s)) {
                p.add("plc.opcua.security[" + i + "]: '" + s + "' is not a policy Vigil offers; give none or"
                        + " basic256sha256");
            }
        }
        if (plc.opcua().enabled() && plc.opcua().security().isEmpty()) {
            p.add("plc.opcua.security: empty; offer none, basic256sha256 or both");
        }
        for (int i = 0; i < plc.modbus().clients().size(); i++) {
            String a = plc.modbus().clients().get(i);
            if (a == null || !(a.matches("\\d{1,3}(\\.\\d{1,3}){3}") || a.contains(":"))) {
                p.add("plc.modbus.clients[" + i + "]: '" + a + "' is not an IP address; list the PLCs' addresses"
                        + " (e.g. 192.168.0.10)");
            }
        }
        int web = c.web().port();
        if (plc.modbus().enabled() && plc.opcua().enabled() && plc.modbus().port() != 0
                && plc.modbus().port().equals(plc.opcua().port())) {
            p.add("plc.opcua.port: " + plc.opcua().port() + " is plc.modbus.port too; give each server its own");
        }
        for (String[] s : new String[][] {{"modbus", String.valueOf(plc.modbus().enabled() ? plc.modbus().port()
                : 0)}, {"opcua", String.valueOf(plc.opcua().enabled() ? plc.opcua().port() : 0)}}) {
            if (!s[1].equals("0") && Integer.parseInt(s[1]) == web) {
                p.add("plc." + s[0] + ".port: " + s[1] + " is web.port too; give the PLC server its own port");
            }
        }
    }

    private static void source(List<String> p, String k, DeviceConfig.Source s) {
        switch (s.type()) {
            case "folder", "mjpeg-file" -> {
                if (s.path() == null || s.path().isBlank()) {
                    p.add(k + ".path: missing; a " + s.type() + " source needs a path");
                }
            }
            case "v4l2" -> {
                if (s.device() == null || s.device().isBlank()) {
                    p.add(k + ".device: missing; give a camera index (0) or /dev/videoN");
                }
            }
            case "stream" -> {
                if (s.url() == null || s.url().isBlank()) {
                    p.add(k + ".url: missing; give an rtsp:// or http:// address");
                } else if (!s.url().matches("(rtsp|rtsps|http|https|rtmp|udp|tcp)://.+")) {
                    p.add(k + ".url: '" + s.url() + "' is not an rtsp://, http(s)://, rtmp://, udp:// or tcp://"
                            + " address");
                }
            }
            default -> { }
        }
    }

    /** The crop must lie inside the frame where the frame size is known before capture. */
    private static void roi(List<String> p, String k, DeviceConfig.Camera cam) {
        DeviceConfig.Roi r = cam.roi();
        DeviceConfig.Source s = cam.source();
        if (r == null || r.x() == null || r.y() == null || r.width() == null || r.height() == null) {
            return;
        }
        boolean sized = s.type().equals("synthetic") || s.type().equals("v4l2") || s.type().equals("stream");
        if (!sized) {
            return;
        }
        if (r.width() > s.width()) {
            p.add(k + ".roi.width: " + r.width() + " is larger than the frame width " + s.width());
        } else if (r.x() + r.width() > s.width()) {
            p.add(k + ".roi.x: " + r.x() + " + width " + r.width() + " reaches past the frame width " + s.width());
        }
        if (r.height() > s.height()) {
            p.add(k + ".roi.height: " + r.height() + " is larger than the frame height " + s.height());
        } else if (r.y() + r.height() > s.height()) {
            p.add(k + ".roi.y: " + r.y() + " + height " + r.height() + " reaches past the frame height "
                    + s.height());
        }
    }

    /** okBelow needs a threshold above it. */
    private static void decision(List<String> p, String k, DeviceConfig.Decision d) {
        if (d == null || d.okBelow() == null) {
            return;
        }
        if (d.defectThreshold() == null) {
            p.add(k + ".okBelow: " + d.okBelow() + " needs " + k + ".defectThreshold too (the uncertain range is"
                    + " between them)");
        } else if (d.okBelow() > d.defectThreshold()) {
            p.add(k + ".okBelow: " + d.okBelow() + " is above defectThreshold " + d.defectThreshold()
                    + "; the thresholds must be ordered okBelow <= defectThreshold");
        }
    }
}
