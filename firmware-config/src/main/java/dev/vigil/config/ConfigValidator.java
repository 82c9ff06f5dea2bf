package dev.vigil.config;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/** The one path every configuration goes through before it is used. */
final class ConfigValidator {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Set<String> SOURCE_TYPES = Set.of("synthetic", "folder", "mjpeg-file", "v4l2", "stream");
    private static final Set<String> DEVICES = Set.of("cpu", "cuda", "tensorrt", "auto");

    private ConfigValidator() {}

    static List<String> problems(DeviceConfig c) {
        List<String> p = new ArrayList<>();
        if (c.schemaVersion() > DeviceConfig.SCHEMA_VERSION) {
            p.add("schemaVersion: " + c.schemaVersion() + " is newer than this Vigil knows ("
                    + DeviceConfig.SCHEMA_VERSION + "); upgrade Vigil");
        } else if (c.schemaVersion() < 1) {
            p.add("schemaVersion: " + c.schemaVersion() + " must be 1 or more");
        }
        id(p, "device.id", c.device().id());
        if (c.cameras().isEmpty()) {
            p.add("cameras: the list is empty; configure at least one camera");
        }
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < c.cameras().size(); i++) {
            DeviceConfig.Camera cam = c.cameras().get(i);
            String k = "cameras[" + i + "]";
            id(p, k + ".id", cam.id());
            if (cam.id() != null && !ids.add(cam.id())) {
                p.add(k + ".id: '" + cam.id() + "' is used by another camera; camera ids must be unique");
            }
            if (!cam.trigger().equals("continuous") && !cam.trigger().equals("triggered")) {
                p.add(k + ".trigger: '" + cam.trigger() + "' must be continuous or triggered");
            }
            DeviceConfig.Source s = cam.source();
            if (!SOURCE_TYPES.contains(s.type())) {
                p.add(k + ".source.type: '" + s.type() + "' is not one of " + new java.util.TreeSet<>(SOURCE_TYPES));
            } else {
                switch (s.type()) {
                    case "folder", "mjpeg-file" -> {
                        if (s.path() == null || s.path().isBlank()) {
                            p.add(k + ".source.path: missing; a " + s.type() + " source needs a path");
                        }
                    }
                    case "v4l2" -> {
                        if (s.device() == null || s.device().isBlank()) {
                            p.add(k + ".source.device: missing; give a camera index (0) or /dev/videoN");
                        }
                    }
                    case "stream" -> {
                        if (s.url() == null || s.url().isBlank()) {
                            p.add(k + ".source.url: missing; give an rtsp:// or http:// address");
                        }
                    }
                    default -> { }
                }
            }
            if (!(s.fps() > 0 && s.fps() <= 240)) {
                p.add(k + ".source.fps: " + s.fps() + " must be in (0, 240]");
            }
            if (s.width() < 16 || s.width() > 8192) {
                p.add(k + ".source.width: " + s.width() + " must be between 16 and 8192");
            }
            if (s.height() < 16 || s.height() > 8192) {
                p.add(k + ".source.height: " + s.height() + " must be between 16 and 8192");
            }
            if (!(s.defectRate() >= 0 && s.defectRate() <= 1)) {
                p.add(k + ".source.defectRate: " + s.defectRate() + " must be between 0 and 1");
            }
            DeviceConfig.Roi r = cam.roi();
            if (r != null) {
                if (r.x() < 0 || r.y() < 0) {
                    p.add(k + ".roi: x " + r.x() + ", y " + r.y() + " must not be negative");
                }
                if (r.width() < 16 || r.height() < 16) {
                    p.add(k + ".roi: width " + r.width() + " x height " + r.height() + " must be at least 16 x 16");
                }
                if (s.type().equals("synthetic") && (r.x() + r.width() > s.width() || r.y() + r.height() > s.height())) {
                    p.add(k + ".roi: " + r.x() + "+" + r.width() + " x " + r.y() + "+" + r.height()
                            + " is outside the " + s.width() + "x" + s.height() + " frame");
                }
            }
        }
        if (!DEVICES.contains(c.model().device())) {
            p.add("model.device: '" + c.model().device() + "' is not one of " + new java.util.TreeSet<>(DEVICES));
        }
        double band = c.decision().uncertaintyBand();
        if (!(band >= 0 && band <= 10)) {
            p.add("decision.uncertaintyBand: " + band + " must be between 0 and 10 (logits)");
        }
        if (c.decision().consensus() < 1 || c.decision().consensus() > 100) {
            p.add("decision.consensus: " + c.decision().consensus() + " must be between 1 and 100");
        }
        String url = c.mqtt().url();
        if (!(url.startsWith("tcp://") || url.startsWith("ssl://") || url.startsWith("mqtt://")
                || url.startsWith("mqtts://"))) {
            p.add("mqtt.url: '" + url + "' must start with tcp://, ssl://, mqtt:// or mqtts://");
        }
        if (c.mqtt().queueQuota() < 1) {
            p.add("mqtt.queueQuota: " + c.mqtt().queueQuota() + " must be 1 or more");
        }
        if (c.mqtt().statusSeconds() < 1) {
            p.add("mqtt.statusSeconds: " + c.mqtt().statusSeconds() + " must be 1 or more");
        }
        if (c.mqtt().caFile() != null && !java.nio.file.Files.isReadable(java.nio.file.Path.of(c.mqtt().caFile()))) {
            p.add("mqtt.caFile: " + c.mqtt().caFile() + " cannot be read; give the CA certificate (PEM) of the broker");
        }
        if (c.mqtt().passwordEnv() != null && System.getenv(c.mqtt().passwordEnv()) == null) {
            p.add("mqtt.passwordEnv: the environment variable " + c.mqtt().passwordEnv() + " is not set");
        }
        if (c.storage().quotaMb() < 1) {
            p.add("storage.quotaMb: " + c.storage().quotaMb() + " must be 1 or more");
        }
        if (c.storage().retentionDays() < 0) {
            p.add("storage.retentionDays: " + c.storage().retentionDays() + " must be 0 (keep) or more");
        }
        if (!(c.storage().auditShare() >= 0 && c.storage().auditShare() <= 1)) {
            p.add("storage.auditShare: " + c.storage().auditShare() + " must be between 0 and 1");
        }
        if (c.storage().flagsPerHour() < 0) {
            p.add("storage.flagsPerHour: " + c.storage().flagsPerHour() + " must be 0 or more");
        }
        if (c.storage().jpegQuality() < 10 || c.storage().jpegQuality() > 100) {
            p.add("storage.jpegQuality: " + c.storage().jpegQuality() + " must be between 10 and 100");
        }
        if (c.training().unfreeze() < 0 || c.training().unfreeze() > 20) {
            p.add("training.unfreeze: " + c.training().unfreeze() + " must be between 0 and 20");
        }
        if (c.training().epochs() < 1 || c.training().epochs() > 10_000) {
            p.add("training.epochs: " + c.training().epochs() + " must be between 1 and 10000");
        }
        if (c.training().autoAfterLabels() < 0) {
            p.add("training.autoAfterLabels: " + c.training().autoAfterLabels() + " must be 0 (off) or more");
        }
        if (!(c.training().evaluationShare() > 0 && c.training().evaluationShare() < 1)) {
            p.add("training.evaluationShare: " + c.training().evaluationShare() + " must be above 0 and below 1");
        }
        if (c.training().shadowFrames() < 0) {
            p.add("training.shadowFrames: " + c.training().shadowFrames() + " must be 0 (no shadow run) or more");
        }
        if (c.web().port() < 0 || c.web().port() > 65535) {
            p.add("web.port: " + c.web().port() + " must be between 0 and 65535");
        }
        return p;
    }

    private static void id(List<String> p, String key, String value) {
        if (value == null || !ID.matcher(value).matches()) {
            p.add(key + ": " + (value == null ? "missing" : "'" + value + "'")
                    + " must be 1-64 letters, digits, '-' or '_' (it becomes part of MQTT topics)");
        }
    }
}
