package dev.vigil.config;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The device configuration ({@code vigil.yml}), the single source of truth for everything configurable on a device.
 * Every key has its default here, in the compact constructors (a missing key means the default), and its meaning and
 * constraint in its {@link Key} annotation; an unknown key is an error. {@link ConfigLoader} reads a file (migrating
 * older {@code schemaVersion}s), {@link #problems()} checks a configuration, {@link ConfigStore} applies changes with
 * snapshots and rollback. Cameras inherit {@code cameraDefaults}, the global {@code decision} and
 * {@code storage.flagsPerHour}, key by key, unless they set their own.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DeviceConfig(
        @Key(doc = "Version of this file's format. Older files are migrated step by step (with a backup); a newer one"
                + " than this Vigil knows is refused.", min = 1, applies = "restart") Integer schemaVersion,
        @Key(doc = "Who this device is.") Device device,
        @Key(doc = "Settings every camera starts from; a camera's own keys override them one by one.")
        CameraDefaults cameraDefaults,
        @Key(doc = "The cameras of this device (at least one).", applies = "camera") List<Camera> cameras,
        @Key(doc = "The model package that serves.") ModelSettings model,
        @Key(doc = "Where the classifier runs.") Inference inference,
        @Key(doc = "How class probabilities become verdicts (every camera's default).") Decision decision,
        @Key(doc = "The MQTT broker connection: alerts, status, commands.") Mqtt mqtt,
        @Key(doc = "Where flagged samples, models and journals are kept, and how much.") Storage storage,
        @Key(doc = "The HTTP server: operator page, API, health, metrics.") Web web,
        @Key(doc = "On-device retraining from the operator's labels.") Training training,
        @Key(doc = "How remote configuration changes are applied and kept.") Changes changes,
        @Key(doc = "How the service writes its log.") Logging logging,
        @Key(doc = "Watching live frames for drift away from what the model was trained on (a changed camera, lens,"
                + " lighting or product; docs/drift.md).") Drift drift,
        @Key(doc = "The line's PLC: a trigger and result handshake per camera over Modbus TCP and OPC UA, with a"
                + " fail-safe deadline (docs/plc.md). Both servers are off until enabled.") Plc plc,
        @Key(doc = "Per-part traceability: a record of every inspected part, kept for a while (docs/plc.md).")
        Parts parts) {
    /** The format this Vigil writes and reads natively; older files are migrated ({@link Migrations}). */
    public static final int SCHEMA_VERSION = 2;

    public DeviceConfig {
        schemaVersion = schemaVersion == null ? SCHEMA_VERSION : schemaVersion;
        device = device == null ? new Device(null) : device;
        cameraDefaults = cameraDefaults == null ? new CameraDefaults(null, null, null, null, null, null)
                : cameraDefaults;
        model = model == null ? new ModelSettings(null, null) : model;
        inference = inference == null ? new Inference(null) : inference;
        decision = decision == null ? new Decision(null, null, null, null) : decision;
        mqtt = mqtt == null ? new Mqtt(null, null, null, null, null, null, null, null, null, null, null) : mqtt;
        storage = storage == null ? new Storage(null, null, null, null, null, null) : storage;
        web = web == null ? new Web(null, null) : web;
        training = training == null ? new Training(null, null, null, null) : training;
        changes = changes == null ? new Changes(null, null) : changes;
        logging = logging == null ? new Logging(null) : logging;
        drift = drift == null ? new Drift(null, null, null) : drift;
        plc = plc == null ? new Plc(null, null, null, null) : plc;
        parts = parts == null ? new Parts(null) : parts;
        List<Camera> given = cameras == null ? List.of(new Camera("cam1", null, null, null, null, null, null))
                : cameras;
        final CameraDefaults d = cameraDefaults;
        final Decision dec = decision;
        final int flags = storage.flagsPerHour();
        cameras = given.stream().map(c -> c == null ? null : c.inherit(d, dec, flags)).toList();
    }

    /** The configuration a device starts with: one synthetic camera, no model yet (collect mode). */
    public static DeviceConfig defaults() {
        return new DeviceConfig(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
                null);
    }

    /** The camera with this id, if configured. */
    public java.util.Optional<Camera> camera(String id) {
        return cameras.stream().filter(c -> c.id().equals(id)).findFirst();
    }

    public record Device(
            @Key(doc = "The device id: part of every MQTT topic and of sample names.", pattern = "[A-Za-z0-9_-]{1,64}",
                    patternDoc = "1-64 letters, digits, '-' or '_' (it becomes part of MQTT topics)",
                    applies = "restart") String id) {
        public Device {
            id = id == null ? "vigil" : id;
        }
    }

    /**
     * A camera: where its frames come from, how it is set up, and how its frames are judged. Keys left out come from
     * {@code cameraDefaults}, then from the global {@code decision} and {@code storage.flagsPerHour}.
     */
    public record Camera(
            @Key(doc = "Camera id: topics, samples, metrics.", required = true, pattern = "[A-Za-z0-9_-]{1,64}",
                    patternDoc = "1-64 letters, digits, '-' or '_' (it becomes part of MQTT topics)",
                    applies = "camera") String id,
            @Key(doc = "Where frames come from.") Source source,
            @Key(doc = "Camera controls, where the driver exposes them (V4L2 cameras).") CameraSettings settings,
            @Key(doc = "Crop applied before the classifier; left out = the whole frame.") Roi roi,
            @Key(doc = "continuous (frames at the source's rate) or triggered (a frame per MQTT/HTTP trigger).",
                    oneOf = {"continuous", "triggered"}, applies = "camera") String trigger,
            @Key(doc = "This camera's decision rule; keys left out come from the global decision.")
            Decision decision,
            @Key(doc = "Most samples this camera flags per hour; left out = storage.flagsPerHour.", min = 0)
            Integer flagsPerHour) {
        public Camera {
            source = source == null ? Source.synthetic() : source;
            trigger = trigger == null ? "continuous" : trigger;
        }

        /** A camera with a source and the rest inherited. */
        public Camera(String id, Source source, Roi roi, String trigger) {
            this(id, source, null, roi, trigger, null, null);
        }

        /** Fills what this camera leaves out from the defaults (whole sections; the loader merges key by key). */
        Camera inherit(CameraDefaults d, Decision global, int flags) {
            return new Camera(id, source, settings != null ? settings : d.settings() != null ? d.settings()
                    : new CameraSettings(null, null, null, null, null, null, null), roi != null ? roi : d.roi(),
                    trigger, decision != null ? decision : d.decision() != null ? d.decision() : global,
                    flagsPerHour != null ? flagsPerHour : d.flagsPerHour() != null ? d.flagsPerHour() : flags);
        }

        @JsonIgnore
        public boolean triggered() {
            return "triggered".equals(trigger);
        }
    }

    /** What every camera starts from: the same keys as a camera, without its id. */
    public record CameraDefaults(
            @Key(doc = "Source keys every camera starts from (fps, width, height, ...).") Source source,
            @Key(doc = "Camera controls every camera starts from.") CameraSettings settings,
            @Key(doc = "Crop every camera starts from.") Roi roi,
            @Key(doc = "Trigger mode every camera starts from.", oneOf = {"continuous", "triggered"},
                    applies = "camera") String trigger,
            @Key(doc = "Decision rule every camera starts from (over the global decision).") Decision decision,
            @Key(doc = "Samples flagged per camera and hour (over storage.flagsPerHour).", min = 0)
            Integer flagsPerHour) {}

    /**
     * A frame source. {@code type}: {@code synthetic} (a simulated line), {@code folder} (images replayed in name
     * order), {@code mjpeg-file} (an MJPEG .avi), {@code v4l2} (a camera: {@code device} index or /dev/videoN),
     * {@code stream} (RTSP/HTTP decoded by an ffmpeg child process).
     */
    public record Source(
            @Key(doc = "synthetic (a simulated casting line), folder (images replayed in name order), mjpeg-file (an"
                    + " MJPEG .avi), v4l2 (a camera), stream (RTSP/HTTP through ffmpeg).",
                    oneOf = {"synthetic", "folder", "mjpeg-file", "v4l2", "stream"}, applies = "camera") String type,
            @Key(doc = "folder, mjpeg-file: the folder or file.", applies = "camera") String path,
            @Key(doc = "v4l2: camera index (0) or /dev/videoN.", applies = "camera") String device,
            @Key(doc = "stream: rtsp:// or http:// address.", applies = "camera") String url,
            @Key(doc = "Frames per second requested (camera) or replayed (folder, file, synthetic).", min = 0,
                    minExclusive = true, max = 240, applies = "camera") Double fps,
            @Key(doc = "folder, mjpeg-file: start again at the end.", applies = "camera") Boolean loop,
            @Key(doc = "Frame width: requested from a v4l2 camera or stream, rendered by synthetic.", min = 16,
                    max = 8192, applies = "camera") Integer width,
            @Key(doc = "Frame height, as width.", min = 16, max = 8192, applies = "camera") Integer height,
            @Key(doc = "synthetic: share of parts with a defect.", min = 0, max = 1, applies = "camera")
            Double defectRate,
            @Key(doc = "synthetic: random seed (the same seed renders the same line).", applies = "camera") Long seed,
            @Key(doc = "stream: the ffmpeg executable.", applies = "camera") String ffmpeg) {
        public Source {
            type = type == null ? "synthetic" : type;
            fps = fps == null ? 2.0 : fps;
            loop = loop == null ? Boolean.TRUE : loop;
            width = width == null ? 640 : width;
            height = height == null ? 480 : height;
            defectRate = defectRate == null ? 0.2 : defectRate;
            seed = seed == null ? 1L : seed;
            ffmpeg = ffmpeg == null ? "ffmpeg" : ffmpeg;
        }

        public static Source synthetic() {
            return new Source(null, null, null, null, null, null, null, null, null, null, null);
        }

        public static Source folder(String path, double fps, boolean loop) {
            return new Source("folder", path, null, null, fps, loop, null, null, null, null, null);
        }

        /** True when the frame size is known before the first frame (the source renders or requests it). */
        @JsonIgnore
        public boolean sizeKnown() {
            return type.equals("synthetic");
        }
    }

    /**
     * Camera controls set through OpenCV on a v4l2 camera when it opens; each is left to the camera when absent. A
     * control the driver does not expose is logged and skipped; what the camera reports back is logged.
     */
    public record CameraSettings(
            @Key(doc = "Automatic exposure on or off.", applies = "camera") Boolean autoExposure,
            @Key(doc = "Exposure, in the driver's units (V4L2: 100 µs steps); sets autoExposure off.", min = 0,
                    applies = "camera") Double exposure,
            @Key(doc = "Analogue gain, in the driver's units.", min = 0, applies = "camera") Double gain,
            @Key(doc = "Automatic white balance on or off.", applies = "camera") Boolean autoWhiteBalance,
            @Key(doc = "White balance temperature in kelvin; sets autoWhiteBalance off.", min = 1000, max = 15000,
                    applies = "camera") Integer whiteBalance,
            @Key(doc = "Autofocus on or off.", applies = "camera") Boolean autoFocus,
            @Key(doc = "Focus position, in the driver's units; sets autoFocus off.", min = 0, applies = "camera")
            Double focus) {}

    /** A crop rectangle in frame pixels. */
    public record Roi(
            @Key(doc = "Left edge, pixels.", required = true, min = 0, applies = "camera") Integer x,
            @Key(doc = "Top edge, pixels.", required = true, min = 0, applies = "camera") Integer y,
            @Key(doc = "Width, pixels.", required = true, min = 16, applies = "camera") Integer width,
            @Key(doc = "Height, pixels.", required = true, min = 16, applies = "camera") Integer height) {}

    public record ModelSettings(
            @Key(doc = "Folder of the model package to serve (an inbox: a new package there is verified, entered in"
                    + " the registry and promoted). Left out = collect mode: frames are flagged for labelling.")
            @JsonProperty("package") String packageDir,
            @Key(doc = "Swap in a new package when the files in the package folder change.") Boolean watch,
            @Key(doc = "Public keys (.pub files from 'vigil keygen') whose signature a package must carry, wherever it"
                    + " comes from (package folder, upload, MQTT offer); left out = packages need no signature. The"
                    + " device's own key, which signs what it trains, is trusted too.") List<String> trustedKeys) {
        public ModelSettings {
            watch = watch == null ? Boolean.TRUE : watch;
            trustedKeys = trustedKeys == null ? List.of() : List.copyOf(trustedKeys);
        }

        public ModelSettings(String packageDir, Boolean watch) {
            this(packageDir, watch, null);
        }
    }

    public record Drift(
            @Key(doc = "Score each camera's frames against the model's training parts (models trained with drift"
                    + " features; older packages have none).") Boolean enabled,
            @Key(doc = "Frames per camera in the sliding window the drift score is computed over.", min = 5,
                    max = 10_000) Integer window,
            @Key(doc = "A camera whose drift score reaches this raises the drift alarm (the score averages 1 on"
                    + " frames like the training parts' and grows with the window times the squared shift of the"
                    + " features, in standard deviations); it clears below 80% of it.", min = 0,
                    minExclusive = true) Double threshold) {
        public Drift {
            enabled = enabled == null ? Boolean.TRUE : enabled;
            window = window == null ? dev.vigil.core.drift.DriftWindow.DEFAULT_SIZE : window;
            threshold = threshold == null ? dev.vigil.core.drift.DriftWindow.DEFAULT_THRESHOLD : threshold;
        }
    }

    public record Logging(
            @Key(doc = "text: one readable line per event; json: one JSON object per line (time, level, logger,"
                    + " message, exception), for journald, Loki or any log shipper.", oneOf = {"text", "json"},
                    applies = "restart") String format) {
        public Logging {
            format = format == null ? "text" : format;
        }

        public boolean json() {
            return "json".equals(format);
        }
    }

    public record Inference(
            @Key(doc = "cpu, cuda, tensorrt, or auto (the GPU when its libraries load, else the CPU with a log line).",
                    oneOf = {"cpu", "cuda", "tensorrt", "auto"}) String device) {
        public Inference {
            device = device == null ? "auto" : device;
        }
    }

    /**
     * How a frame's class probabilities become a verdict. The defect score is {@code 1 - P(ok)}; at or above the
     * defect threshold (the package's operating point unless set here) a frame is a defect; within
     * {@code uncertaintyBand} logits of it, or between {@code okBelow} and the threshold when that is set, it is
     * uncertain and flagged for a person.
     */
    public record Decision(
            @Key(doc = "Defect score at or above which a frame is a defect; left out = the model package's operating"
                    + " point (chosen for its target defect recall).", min = 0, max = 1, minExclusive = true)
            Double defectThreshold,
            @Key(doc = "Defect score below which a frame is ok; between it and defectThreshold a frame is uncertain"
                    + " (replaces uncertaintyBand; needs defectThreshold).", min = 0, max = 1) Double okBelow,
            @Key(doc = "A frame whose defect score is within this many logits of the threshold is uncertain: 1.0 ="
                    + " odds within a factor e of the threshold's, whatever the threshold.", min = 0, max = 10)
            Double uncertaintyBand,
            @Key(doc = "The verdict is the majority over a camera's last N frames (1 = every frame alone).", min = 1,
                    max = 100) Integer consensus) {
        public Decision {
            uncertaintyBand = uncertaintyBand == null ? 1.0 : uncertaintyBand;
            consensus = consensus == null ? 1 : consensus;
        }

        public Decision(Double uncertaintyBand, Integer consensus) {
            this(null, null, uncertaintyBand, consensus);
        }
    }

    public record Mqtt(
            @Key(doc = "Broker address: tcp://host:1883 or ssl://host:8883.", pattern = MqttUrl.PATTERN,
                    patternDoc = "tcp://, ssl://, mqtt://, mqtts:// or tls:// followed by host:port (MqttUrl)")
            String url,
            @Key(doc = "Topic prefix; left out = vigil/<device id>.") String prefix,
            @Key(doc = "Broker user name.") String username,
            @Key(doc = "Name of the environment variable that holds the broker password (never the password"
                    + " itself).", pattern = "[A-Za-z_][A-Za-z0-9_]*", patternDoc = "an environment variable name")
            String passwordEnv,
            @Key(doc = "File whose first line is the broker password (owner-readable only, e.g. a systemd"
                    + " credential).") String passwordFile,
            @Key(doc = "TLS: CA certificate (PEM) that signed the broker's certificate.") String caFile,
            @Key(doc = "Most alerts kept on disk while the broker is away; more are counted as overflow.", min = 1)
            Integer queueQuota,
            @Key(doc = "Also publish every verdict (QoS 0).") Boolean inspections,
            @Key(doc = "MQTT client id; left out = vigil-<device id>.") String clientId,
            @Key(doc = "Seconds between refreshes of the retained status.", min = 1, max = 3600)
            Integer statusSeconds,
            @Key(doc = "Take the state-changing commands model/set, model/offer and config/set from the broker (off:"
                    + " not even subscribed; let only a fleet controller publish them: docs/mqtt.md has a password"
                    + " file and ACL). Camera triggers are taken either way.") Boolean acceptCommands,
            @Key(doc = "Publish Home Assistant MQTT discovery configs (retained, under homeassistant/): availability,"
                    + " NG rate, last verdict, camera states, model id and a trigger button per camera appear in Home"
                    + " Assistant by themselves.") Boolean homeAssistant) {
        public Mqtt {
            url = url == null ? "tcp://127.0.0.1:1883" : url;
            queueQuota = queueQuota == null ? 10_000 : queueQuota;
            inspections = inspections == null ? Boolean.FALSE : inspections;
            statusSeconds = statusSeconds == null ? 10 : statusSeconds;
            acceptCommands = acceptCommands == null ? Boolean.FALSE : acceptCommands;
            homeAssistant = homeAssistant == null ? Boolean.FALSE : homeAssistant;
        }

        public Mqtt(String url, String prefix, String username, String passwordEnv, String passwordFile, String caFile,
                Integer queueQuota, Boolean inspections, String clientId, Integer statusSeconds,
                Boolean acceptCommands) {
            this(url, prefix, username, passwordEnv, passwordFile, caFile, queueQuota, inspections, clientId,
                    statusSeconds, acceptCommands, null);
        }

        /** This broker with the state-changing commands taken or not. */
        public Mqtt withAcceptCommands(boolean accept) {
            return new Mqtt(url, prefix, username, passwordEnv, passwordFile, caFile, queueQuota, inspections,
                    clientId, statusSeconds, accept, homeAssistant);
        }
    }

    public record Storage(
            @Key(doc = "Data folder: samples and their index, model registry, MQTT journal, accounts, configuration"
                    + " snapshots.", applies = "restart") String dir,
            @Key(doc = "Most disk space the samples may take, MiB; the oldest go first.", min = 1) Integer quotaMb,
            @Key(doc = "Samples older than this many days are deleted (0 = keep).", min = 0) Integer retentionDays,
            @Key(doc = "Share of ok frames flagged anyway, for audit.", min = 0, max = 1) Double auditShare,
            @Key(doc = "Most samples flagged per camera and hour (each camera may set its own).", min = 0)
            Integer flagsPerHour,
            @Key(doc = "JPEG quality of stored samples.", min = 10, max = 100) Integer jpegQuality) {
        public Storage {
            dir = dir == null ? System.getProperty("user.home") + "/.local/share/vigil" : dir;
            quotaMb = quotaMb == null ? 2048 : quotaMb;
            retentionDays = retentionDays == null ? 90 : retentionDays;
            auditShare = auditShare == null ? 0.01 : auditShare;
            flagsPerHour = flagsPerHour == null ? 120 : flagsPerHour;
            jpegQuality = jpegQuality == null ? 90 : jpegQuality;
        }
    }

    public record Web(
            @Key(doc = "HTTP port (0 = any free port).", min = 0, max = 65535, applies = "restart") Integer port,
            @Key(doc = "Address to listen on (0.0.0.0 = every interface).", applies = "restart") String host,
            @Key(doc = "Minutes a login session of the operator page lives without use.", min = 5, max = 10_080)
            Integer sessionIdleMinutes,
            @Key(doc = "Who may read /prometheus: loopback (this machine only), token (a bearer token, the contents of"
                    + " metricsTokenFile), open (anyone who reaches the port) or off.", oneOf = {"loopback", "token",
                            "open", "off"}) String metrics,
            @Key(doc = "File holding the bearer token of web.metrics: token (one line; keep it readable by the"
                    + " service only).") String metricsTokenFile,
            @Key(doc = "HTTPS: the server's certificate chain (PEM); with tlsKey the page and the API are served over"
                    + " HTTPS only, on web.port.", applies = "restart") String tlsCertificate,
            @Key(doc = "HTTPS: the certificate's private key (PEM, PKCS#8, unencrypted; readable by the service"
                    + " only).", applies = "restart") String tlsKey) {
        public Web {
            port = port == null ? 8080 : port;
            host = host == null ? "0.0.0.0" : host;
            sessionIdleMinutes = sessionIdleMinutes == null ? 720 : sessionIdleMinutes;
            metrics = metrics == null ? "loopback" : metrics;
        }

        public Web(Integer port, String host) {
            this(port, host, null, null, null, null, null);
        }

        public Web(Integer port, String host, Integer sessionIdleMinutes) {
            this(port, host, sessionIdleMinutes, null, null, null, null);
        }

        /** Whether the service speaks HTTPS (both tlsCertificate and tlsKey given). */
        public boolean tls() {
            return tlsCertificate != null && tlsKey != null;
        }
    }

    public record Training(
            @Key(doc = "Catalog name or ONNX file the trainer starts from.") String backbone,
            @Key(doc = "Backbone blocks trained (0 = only the new head).", min = 0, max = 20) Integer unfreeze,
            @Key(doc = "Most epochs.", min = 1, max = 10_000) Integer epochs,
            @Key(doc = "Where catalog backbones are kept; left out = <storage.dir>/backbones.") String modelCache,
            @Key(doc = "Start a training run by itself after this many new labels (0 = off: an admin starts"
                    + " training).", min = 0) Integer autoAfterLabels,
            @Key(doc = "Share of labelled samples held out as the evaluation set, never trained on (by a hash of the"
                    + " sample id, so the set only grows; changing it re-partitions the set).", min = 0, max = 0.9,
                    minExclusive = true) Double evaluationShare,
            @Key(doc = "Live frames a candidate classifies in shadow beside the active model (recorded, not acted"
                    + " on) before an automatic promotion; 0 = no shadow run.", min = 0) Integer shadowFrames,
            @Key(doc = "A candidate at least as good as the active model on the evaluation set (overall and in defect"
                    + " recall) goes into service by itself; false = every candidate waits for an admin.")
            Boolean autoPromote,
            @Key(doc = "CPU threads the training process may use; left out = the cores less one (at least 1), so"
                    + " inspection keeps a core.", min = 1, max = 256) Integer threads,
            @Key(doc = "Most memory the training process may take, MiB (heap, direct buffers and native arenas"
                    + " together; it stops with a clear error rather than grow past it).", min = 512, max = 262_144)
            Integer maxMemoryMb,
            @Key(doc = "constant: the unfrozen blocks train from the start; progressive[:E]: the head first, then one"
                    + " more block every E epochs (default 3) up to training.unfreeze (0 = every block), early"
                    + " stopping over the whole schedule (docs/trainer.md, fine-tuning strategies).",
                    pattern = "constant|progressive(:[1-9][0-9]{0,2})?",
                    patternDoc = "constant, progressive or progressive:E with E from 1 to 999") String schedule,
            @Key(doc = "Train the learning curve the models view shows (\"have I labelled enough?\": each"
                    + " cross-validation fold also trains on 25, 50 and 75% of its images, about three times the"
                    + " training time of a head-only run); false = a faster run without it.") Boolean learningCurve) {
        public Training {
            backbone = backbone == null ? "squeezenet1.1-fp16" : backbone;
            unfreeze = unfreeze == null ? 0 : unfreeze;
            epochs = epochs == null ? 40 : epochs;
            autoAfterLabels = autoAfterLabels == null ? 0 : autoAfterLabels;
            evaluationShare = evaluationShare == null ? 0.2 : evaluationShare;
            shadowFrames = shadowFrames == null ? 200 : shadowFrames;
            autoPromote = autoPromote == null ? Boolean.TRUE : autoPromote;
            maxMemoryMb = maxMemoryMb == null ? 2048 : maxMemoryMb;
            schedule = schedule == null ? "constant" : schedule;
            learningCurve = learningCurve == null ? Boolean.TRUE : learningCurve;
        }

        /** {@link #threads}, or the cores less one (at least 1) when it is left out. */
        public int threadsOrDefault() {
            return threads != null ? threads : Math.max(1, Runtime.getRuntime().availableProcessors() - 1);
        }

        public Training(String backbone, Integer unfreeze, Integer epochs, String modelCache, Integer autoAfterLabels,
                Double evaluationShare, Integer shadowFrames, Boolean autoPromote) {
            this(backbone, unfreeze, epochs, modelCache, autoAfterLabels, evaluationShare, shadowFrames, autoPromote,
                    null, null, null, null);
        }

        public Training(String backbone, Integer unfreeze, Integer epochs, String modelCache, Integer autoAfterLabels,
                Double evaluationShare, Integer shadowFrames, Boolean autoPromote, Integer threads,
                Integer maxMemoryMb, String schedule) {
            this(backbone, unfreeze, epochs, modelCache, autoAfterLabels, evaluationShare, shadowFrames, autoPromote,
                    threads, maxMemoryMb, schedule, null);
        }

        /** A copy with the learning curve on or off. */
        public Training withLearningCurve(boolean on) {
            return new Training(backbone, unfreeze, epochs, modelCache, autoAfterLabels, evaluationShare,
                    shadowFrames, autoPromote, threads, maxMemoryMb, schedule, on);
        }

        public Training(String backbone, Integer unfreeze, Integer epochs, String modelCache) {
            this(backbone, unfreeze, epochs, modelCache, null, null, null, null);
        }
    }

    /**
     * The PLC handshake (docs/plc.md): every camera gets the same block of signals, at an offset of
     * {@code 100 x its place in cameras}; a trigger from the PLC captures one frame of a triggered camera and the result
     * is written back with the handshake.
     */
    public record Plc(
            @Key(doc = "Milliseconds after a trigger by which a verdict must be ready; a part without one is reported NG"
                    + " with error code 2 (late) and counted: a part is never passed unseen.", min = 10, max = 600_000)
            Integer deadlineMs,
            @Key(doc = "Milliseconds the PLC has to acknowledge a result (result-ack); after it the result is taken"
                    + " back, error code 3 (ack timeout) is set and the next trigger is served.", min = 10,
                    max = 600_000) Integer ackTimeoutMs,
            @Key(doc = "The Modbus TCP server (coils, discrete inputs, input and holding registers).") Modbus modbus,
            @Key(doc = "The OPC UA server (nodes under Vigil/<camera>).") OpcUa opcua) {
        public Plc {
            deadlineMs = deadlineMs == null ? 2000 : deadlineMs;
            ackTimeoutMs = ackTimeoutMs == null ? 5000 : ackTimeoutMs;
            modbus = modbus == null ? new Modbus(null, null, null, null, null) : modbus;
            opcua = opcua == null ? new OpcUa(null, null, null, null, null) : opcua;
        }

        /** Whether any PLC server is on. */
        public boolean enabled() {
            return modbus.enabled() || opcua.enabled();
        }
    }

    public record Modbus(
            @Key(doc = "Serve Modbus TCP (it has no authentication: give host and clients).", applies = "restart")
            Boolean enabled,
            @Key(doc = "Address to listen on; 0.0.0.0 = every interface.", applies = "restart") String host,
            @Key(doc = "TCP port (502 is the standard one and needs privileges; 0 = any free port).", min = 0,
                    max = 65535, applies = "restart") Integer port,
            @Key(doc = "The unit id this server answers (requests to another are refused).", min = 0, max = 255)
            Integer unitId,
            @Key(doc = "IP addresses allowed to connect (the PLCs); empty = any that reach host.") List<String> clients) {
        public Modbus {
            enabled = enabled == null ? Boolean.FALSE : enabled;
            host = host == null ? "127.0.0.1" : host;
            port = port == null ? 5020 : port;
            unitId = unitId == null ? 1 : unitId;
            clients = clients == null ? List.of() : List.copyOf(clients);
        }
    }

    public record OpcUa(
            @Key(doc = "Serve OPC UA (opc.tcp).", applies = "restart") Boolean enabled,
            @Key(doc = "Address to listen on; 0.0.0.0 = every interface.", applies = "restart") String host,
            @Key(doc = "TCP port (0 = any free port).", min = 0, max = 65535, applies = "restart") Integer port,
            @Key(doc = "Allow anonymous sessions (off: a Vigil account with the operator or admin role signs in with"
                    + " its user name and password, or a client certificate in <storage.dir>/pki/trusted).",
                    applies = "restart") Boolean anonymous,
            @Key(doc = "Security policies offered: none (user passwords are still encrypted with the server's"
                    + " certificate) and basic256sha256 (signed and encrypted).", applies = "restart")
            List<String> security) {
        public OpcUa {
            enabled = enabled == null ? Boolean.FALSE : enabled;
            host = host == null ? "127.0.0.1" : host;
            port = port == null ? 4840 : port;
            anonymous = anonymous == null ? Boolean.FALSE : anonymous;
            security = security == null ? List.of("none", "basic256sha256") : List.copyOf(security);
        }
    }

    public record Parts(
            @Key(doc = "Days a part's traceability record is kept (0 = keep).", min = 0) Integer retentionDays) {
        public Parts {
            retentionDays = retentionDays == null ? 365 : retentionDays;
        }
    }

    public record Changes(
            @Key(doc = "Seconds a remote change is watched after it is applied: if a camera or the model fails in"
                    + " that time, the previous configuration is restored by itself.", min = 0, max = 3600)
            Integer graceSeconds,
            @Key(doc = "Configuration snapshots kept (the factory snapshot is always kept).", min = 2, max = 10_000)
            Integer keepSnapshots) {
        public Changes {
            graceSeconds = graceSeconds == null ? 30 : graceSeconds;
            keepSnapshots = keepSnapshots == null ? 100 : keepSnapshots;
        }
    }

    /** Every problem of this configuration, each with its key path, the bad value and the rule; empty = valid. */
    public List<String> problems() {
        return ConfigValidator.problems(this);
    }
}
