package dev.vigil.config;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The device configuration ({@code vigil.yml}). Every key has its default here, in the compact constructors: a
 * missing key means the default, an unknown key is an error. {@link ConfigLoader} reads it, {@link #problems()}
 * checks it.
 *
 * @param schemaVersion the file format version ({@link #SCHEMA_VERSION})
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DeviceConfig(Integer schemaVersion, Device device, List<Camera> cameras, ModelSettings model,
        Decision decision, Mqtt mqtt, Storage storage, Web web, Training training) {
    public static final int SCHEMA_VERSION = 1;

    public DeviceConfig {
        schemaVersion = schemaVersion == null ? SCHEMA_VERSION : schemaVersion;
        device = device == null ? new Device(null) : device;
        cameras = cameras == null ? List.of(Camera.synthetic("cam1")) : List.copyOf(cameras);
        model = model == null ? new ModelSettings(null, null, null) : model;
        decision = decision == null ? new Decision(null, null) : decision;
        mqtt = mqtt == null ? new Mqtt(null, null, null, null, null, null, null, null, null) : mqtt;
        storage = storage == null ? new Storage(null, null, null, null, null, null) : storage;
        web = web == null ? new Web(null, null) : web;
        training = training == null ? new Training(null, null, null, null) : training;
    }

    /** The same configuration written the short way (no training section: its defaults). */
    public DeviceConfig(Integer schemaVersion, Device device, List<Camera> cameras, ModelSettings model,
            Decision decision, Mqtt mqtt, Storage storage, Web web) {
        this(schemaVersion, device, cameras, model, decision, mqtt, storage, web, null);
    }

    /** The configuration a device starts with: one synthetic camera, no model yet (collect mode). */
    public static DeviceConfig defaults() {
        return new DeviceConfig(null, null, null, null, null, null, null, null, null);
    }

    /** @param id the device id, part of every MQTT topic */
    public record Device(String id) {
        public Device {
            id = id == null ? "vigil" : id;
        }
    }

    /**
     * @param id camera id (topics, samples, metrics)
     * @param source where frames come from
     * @param roi crop applied before the classifier; null = the whole frame
     * @param trigger {@code continuous} (at the source's rate) or {@code triggered} (MQTT/HTTP trigger only)
     */
    public record Camera(String id, Source source, Roi roi, String trigger) {
        public Camera {
            source = source == null ? Source.synthetic() : source;
            trigger = trigger == null ? "continuous" : trigger;
        }

        static Camera synthetic(String id) {
            return new Camera(id, Source.synthetic(), null, null);
        }

        public boolean triggered() {
            return "triggered".equals(trigger);
        }
    }

    /**
     * A frame source. {@code type}: {@code synthetic} (a simulated line), {@code folder} (images replayed in name
     * order), {@code mjpeg-file} (an MJPEG .avi), {@code v4l2} (a camera: {@code device} index or /dev/videoN),
     * {@code stream} (RTSP/HTTP decoded by an ffmpeg child process).
     *
     * @param fps frames per second requested (camera) or replayed (folder, file, synthetic)
     * @param loop folder and file sources start again at the end
     * @param width requested capture width (v4l2, stream output; synthetic frame size)
     * @param height requested capture height
     * @param defectRate synthetic: share of parts with a defect
     * @param seed synthetic: random seed (the same seed renders the same line)
     * @param ffmpeg stream: the ffmpeg executable
     */
    public record Source(String type, String path, String device, String url, Double fps, Boolean loop,
            Integer width, Integer height, Double defectRate, Long seed, String ffmpeg) {
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
    }

    /** A crop rectangle in frame pixels. */
    public record Roi(int x, int y, int width, int height) {}

    /**
     * @param packageDir the active model package; null or missing = collect mode (flag frames for labelling)
     * @param device {@code cpu}, {@code cuda}, {@code tensorrt} or {@code auto} (GPU when its libraries load, else
     *     CPU with a log line)
     * @param watch swap in a new package when the files at {@code package} change
     */
    public record ModelSettings(@com.fasterxml.jackson.annotation.JsonProperty("package") String packageDir,
            String device, Boolean watch) {
        public ModelSettings {
            device = device == null ? "auto" : device;
            watch = watch == null ? Boolean.TRUE : watch;
        }
    }

    /**
     * @param uncertaintyBand a frame whose defect score is within this many logits (log-odds) of the package's defect
     *     threshold is {@code uncertain}: 1.0 means odds within a factor e of the threshold's, whatever the threshold
     * @param consensus the verdict of a camera is the majority over its last N frames (1 = every frame alone)
     */
    public record Decision(Double uncertaintyBand, Integer consensus) {
        public Decision {
            uncertaintyBand = uncertaintyBand == null ? 1.0 : uncertaintyBand;
            consensus = consensus == null ? 1 : consensus;
        }
    }

    /**
     * @param url broker, {@code tcp://host:1883} or {@code ssl://host:8883}
     * @param prefix topic prefix; null = {@code vigil/<device id>}
     * @param username broker user (optional)
     * @param passwordEnv name of the environment variable holding the password (never the password itself)
     * @param caFile TLS: CA certificate (PEM) that signed the broker's certificate
     * @param queueQuota most alerts kept on disk while the broker is away; more are counted as overflow
     * @param inspections also publish every verdict (QoS 0)
     * @param clientId MQTT client id; null = {@code vigil-<device id>}
     * @param statusSeconds how often the retained status is refreshed
     */
    public record Mqtt(String url, String prefix, String username, String passwordEnv, String caFile,
            Integer queueQuota, Boolean inspections, String clientId, Integer statusSeconds) {
        public Mqtt {
            url = url == null ? "tcp://127.0.0.1:1883" : url;
            queueQuota = queueQuota == null ? 10_000 : queueQuota;
            inspections = inspections == null ? Boolean.FALSE : inspections;
            statusSeconds = statusSeconds == null ? 10 : statusSeconds;
        }
    }

    /**
     * @param dir data folder: samples, their index, the MQTT journal
     * @param quotaMb most disk space the samples may take; the oldest go first
     * @param retentionDays samples older than this are deleted (0 = keep)
     * @param auditShare share of {@code ok} frames flagged anyway, for audit
     * @param flagsPerHour most samples flagged per camera and hour
     * @param jpegQuality quality of stored samples
     */
    public record Storage(String dir, Integer quotaMb, Integer retentionDays, Double auditShare,
            Integer flagsPerHour, Integer jpegQuality) {
        public Storage {
            dir = dir == null ? System.getProperty("user.home") + "/.local/share/vigil" : dir;
            quotaMb = quotaMb == null ? 2048 : quotaMb;
            retentionDays = retentionDays == null ? 90 : retentionDays;
            auditShare = auditShare == null ? 0.01 : auditShare;
            flagsPerHour = flagsPerHour == null ? 120 : flagsPerHour;
            jpegQuality = jpegQuality == null ? 90 : jpegQuality;
        }
    }

    /** @param port HTTP port (0 = any free port) */
    public record Web(Integer port, String host) {
        public Web {
            port = port == null ? 8080 : port;
            host = host == null ? "0.0.0.0" : host;
        }
    }

    /**
     * On-device retraining from the operator's labels.
     *
     * @param backbone catalog name or ONNX file the trainer starts from
     * @param unfreeze backbone blocks trained (0 = only the new head)
     * @param epochs most epochs
     * @param modelCache where catalog backbones are kept; null = {@code <storage.dir>/backbones}
     * @param autoAfterLabels start a training run by itself after this many new labels (0 = off, the default: an
     *     admin starts training)
     * @param evaluationShare share of labelled samples held out as the evaluation set, never trained on (chosen by a
     *     hash of the sample id, so the set only grows; changing the share re-partitions it)
     * @param shadowFrames live frames a candidate classifies in shadow beside the active model (recorded, not acted
     *     on) before an automatic promotion; 0 = no shadow run
     * @param autoPromote a candidate at least as good as the active model on the evaluation set (overall and in
     *     defect recall) goes into service by itself; false = every candidate waits for an admin
     */
    public record Training(String backbone, Integer unfreeze, Integer epochs, String modelCache,
            Integer autoAfterLabels, Double evaluationShare, Integer shadowFrames, Boolean autoPromote) {
        public Training {
            backbone = backbone == null ? "squeezenet1.1-fp16" : backbone;
            unfreeze = unfreeze == null ? 0 : unfreeze;
            epochs = epochs == null ? 40 : epochs;
            autoAfterLabels = autoAfterLabels == null ? 0 : autoAfterLabels;
            evaluationShare = evaluationShare == null ? 0.2 : evaluationShare;
            shadowFrames = shadowFrames == null ? 200 : shadowFrames;
            autoPromote = autoPromote == null ? Boolean.TRUE : autoPromote;
        }

        public Training(String backbone, Integer unfreeze, Integer epochs, String modelCache) {
            this(backbone, unfreeze, epochs, modelCache, null, null, null, null);
        }
    }

    /** Every problem of this configuration, each with its key path, the bad value and the rule; empty = valid. */
    public List<String> problems() {
        return ConfigValidator.problems(this);
    }
}
