package dev.vigil.app.samples;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.core.model.DefectMap;
import dev.vigil.core.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Flagged samples: JPEG files under {@code <dir>/samples/<yyyy-MM-dd>/} with a JSON sidecar each and, when the
 * model gives a defect map, its grid as {@code <id>.heatmap.png}, indexed in an embedded H2 database
 * ({@code <dir>/index}). Files are written to a temporary name and renamed, then indexed, so a crash never leaves a
 * half-written image behind an index row. A grid thumbnail ({@code <id>.thumb.jpg}) is made on first request
 * ({@link #thumbnail}). When the model gives drift features, the frame's embedding (its standardised pooled features,
 * L2-normalised, float32 little-endian; {@link dev.vigil.app.inference.LoadedModel.Inference#embedding}) is kept as
 * {@code <id>.embedding.f32} with the id of the model that made it, for finding the labelled samples most like it
 * ({@link #similar}). A disk quota (counting JPEG, heatmap, embedding and thumbnail)
 * removes the oldest samples first and a retention period removes old ones, each with all its files. Thread-safe.
 */
public final class SampleStore implements AutoCloseable {
    /** Sample ids: what {@link #newId} makes, and all that lookups accept (no path tricks). */
    public static final Pattern ID = Pattern.compile("s[0-9]{13}-[0-9a-f]{8}");
    private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("yyyy-MM-dd").withZone(ZoneOffset.UTC);
    private static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules();
    private static final System.Logger LOG = System.getLogger(SampleStore.class.getName());
    private final Path dir;
    private volatile long quotaBytes;
    private volatile Duration retention;
    private final Connection db;
    private final SecureRandom random = new SecureRandom();
    /** Thumbnails being made at once: at most two. */
    private final java.util.concurrent.Semaphore thumbnailing = new java.util.concurrent.Semaphore(2);
    /** The labelled samples' embeddings in memory: null until the first {@link #similar} loads them. */
    private SimilarIndex similarIndex;

    /** New limits (a configuration change); the next {@link #enforce} applies them. */
    public void limits(long quotaBytes, int retentionDays) {
        this.quotaBytes = quotaBytes;
        this.retention = retentionDays <= 0 ? null : Duration.ofDays(retentionDays);
    }

    public SampleStore(Path dir, long quotaBytes, int retentionDays) {
        this.dir = dir.toAbsolutePath();
        this.quotaBytes = quotaBytes;
        this.retention = retentionDays <= 0 ? null : Duration.ofDays(retentionDays);
        try {
            Files.createDirectories(this.dir.resolve("samples"));
            db = DriverManager.getConnection("jdbc:h2:file:" + this.dir.resolve("index").resolve("samples")
                    + ";DB_CLOSE_ON_EXIT=FALSE", "vigil", "");
            try (Statement s = db.createStatement()) {
                s.execute("CREATE TABLE IF NOT EXISTS samples (id VARCHAR(32) PRIMARY KEY, camera VARCHAR(64) NOT NULL,"
                        + " time TIMESTAMP WITH TIME ZONE NOT NULL, file VARCHAR(256) NOT NULL, bytes BIGINT NOT NULL,"
                        + " reason VARCHAR(16) NOT NULL, model_id VARCHAR(128), verdict VARCHAR(16) NOT NULL,"
                        + " label VARCHAR(128), confidence DOUBLE PRECISION, labels VARCHAR(8192),"
                        + " probabilities VARCHAR(8192), assigned_label VARCHAR(128), source VARCHAR(256))");
                // added with defect maps: the stored heatmap (JSON of SampleHeatmap), null for samples without one
                s.execute("ALTER TABLE samples ADD COLUMN IF NOT EXISTS heatmap VARCHAR(4096)");
                // added with multi-task models: the other heads' predictions and the operator's class per head (JSON)
                s.execute("ALTER TABLE samples ADD COLUMN IF NOT EXISTS attributes VARCHAR(8192)");
                s.execute("ALTER TABLE samples ADD COLUMN IF NOT EXISTS assigned_attributes VARCHAR(4096)");
                // added with similar samples: the model that made the stored embedding, null for a sample without one
                s.execute("ALTER TABLE samples ADD COLUMN IF NOT EXISTS embedding_model VARCHAR(128)");
                s.execute("CREATE INDEX IF NOT EXISTS samples_time ON samples(time)");
                s.execute("CREATE TABLE IF NOT EXISTS label_history (sample_id VARCHAR(32) NOT NULL,"
                        + " at TIMESTAMP WITH TIME ZONE NOT NULL, who VARCHAR(64) NOT NULL, label VARCHAR(128),"
                        + " previous VARCHAR(128))");
                // added with bulk labelling: the batch a change belongs to (null for a single label)
                s.execute("ALTER TABLE label_history ADD COLUMN IF NOT EXISTS batch VARCHAR(40)");
                s.execute("CREATE INDEX IF NOT EXISTS label_history_batch ON label_history(batch)");
                s.execute("CREATE TABLE IF NOT EXISTS label_batches (id VARCHAR(40) PRIMARY KEY,"
                        + " at TIMESTAMP WITH TIME ZONE NOT NULL, who VARCHAR(64) NOT NULL, label VARCHAR(128),"
                        + " size INT NOT NULL, undone_at TIMESTAMP WITH TIME ZONE, undone_by VARCHAR(64))");
            }
        } catch (IOException | SQLException e) {
            throw new IllegalStateException("sample store " + this.dir + " cannot be opened (" + e.getMessage()
                    + "); check storage.dir is writable and not used by another Vigil", e);
        }
    }

    public Path dir() {
        return dir;
    }

    /** Stores one flagged frame (already JPEG-encoded) and returns its record. */
    public synchronized Sample add(String camera, Instant time, byte[] jpeg, String reason, String modelId,
            String verdict, String label, double confidence, List<String> labels, List<Double> probabilities,
            String source) throws IOException {
        return add(camera, time, jpeg, reason, modelId, verdict, label, confidence, labels, probabilities, source,
                null);
    }

    /**
     * Stores one flagged frame with the model's defect map for it ({@code map} null = none): the JPEG, the map's grid
     * PNG ({@code <id>.heatmap.png}) and the sidecar, each written to a temporary name and renamed, then the index
     * row.
     */
    public synchronized Sample add(String camera, Instant time, byte[] jpeg, String reason, String modelId,
            String verdict, String label, double confidence, List<String> labels, List<Double> probabilities,
            String source, DefectMap map) throws IOException {
        return add(camera, time, jpeg, reason, modelId, verdict, label, confidence, labels, probabilities, source, map,
                null);
    }

    /** The same with a multi-task model's other heads ({@code attributes}; null for a single classifier). */
    public synchronized Sample add(String camera, Instant time, byte[] jpeg, String reason, String modelId,
            String verdict, String label, double confidence, List<String> labels, List<Double> probabilities,
            String source, DefectMap map, java.util.Map<String, dev.vigil.app.mqtt.Attribute> attributes)
            throws IOException {
        return add(camera, time, jpeg, reason, modelId, verdict, label, confidence, labels, probabilities, source, map,
                attributes, null);
    }

    /**
     * The same with the frame's embedding ({@code embedding}: model {@code modelId}'s unit vector for the frame;
     * null = none), written like the JPEG as {@code <id>.embedding.f32} (float32 little-endian) before the index row,
     * which names the model that made it; its bytes count in the sample's.
     */
    public synchronized Sample add(String camera, Instant time, byte[] jpeg, String reason, String modelId,
            String verdict, String label, double confidence, List<String> labels, List<Double> probabilities,
            String source, DefectMap map, java.util.Map<String, dev.vigil.app.mqtt.Attribute> attributes,
            float[] embedding) throws IOException {
        String id = newId(time);
        byte[] emb = embedding == null || modelId == null || embedding.length == 0 ? null : encode(embedding);
        String rel = "samples/" + DAY.format(time) + "/" + id + ".jpg";
        byte[] png = map == null ? null : map.toPng();
        SampleHeatmap heatmap = null;
        if (map != null) {
            DefectMap.Peak peak = map.peak();
            heatmap = new SampleHeatmap(heatmapPath(rel), peak.score(), peak.region(), map.geometry());
        }
        Sample s = new Sample(id, camera, time, rel, jpeg.length + (png == null ? 0 : png.length)
                + (emb == null ? 0 : emb.length), reason, modelId,
                verdict, label, confidence, labels, probabilities, null, source, heatmap, attributes, null);
        AtomicFiles.write(dir.resolve(rel), jpeg);
        if (png != null) {
            AtomicFiles.write(dir.resolve(heatmap.file()), png);
        }
        if (emb != null) {
            AtomicFiles.write(dir.resolve(embeddingPath(rel)), emb);
        }
        AtomicFiles.write(dir.resolve(rel.replace(".jpg", ".json")), JSON.writeValueAsBytes(s));
        try (PreparedStatement p = db.prepareStatement("INSERT INTO samples (id, camera, time, file, bytes, reason,"
                + " model_id, verdict, label, confidence, labels, probabilities, assigned_label, source, heatmap,"
                + " attributes, embedding_model) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")) {
            p.setString(1, id);
            p.setString(2, camera);
            p.setTimestamp(3, Timestamp.from(time));
            p.setString(4, rel);
            p.setLong(5, s.bytes());
            p.setString(6, reason);
            p.setString(7, modelId);
            p.setString(8, verdict);
            p.setString(9, label);
            p.setDouble(10, confidence);
            p.setString(11, JSON.writeValueAsString(labels == null ? List.of() : labels));
            p.setString(12, JSON.writeValueAsString(probabilities == null ? List.of() : probabilities));
            p.setString(13, null);
            p.setString(14, source);
            p.setString(15, heatmap == null ? null : JSON.writeValueAsString(heatmap));
            p.setString(16, attributes == null ? null : JSON.writeValueAsString(attributes));
            p.setString(17, emb == null ? null : modelId);
            p.executeUpdate();
        } catch (SQLException e) {
            Files.deleteIfExists(dir.resolve(rel));
            Files.deleteIfExists(dir.resolve(heatmapPath(rel)));
            Files.deleteIfExists(dir.resolve(embeddingPath(rel)));
            Files.deleteIfExists(dir.resolve(rel.replace(".jpg", ".json")));
            throw new IOException("sample index in " + dir + " rejected sample " + id + ": " + e.getMessage(), e);
        }
        return s;
    }

    private String newId(Instant time) {
        byte[] b = new byte[4];
        random.nextBytes(b);
        return String.format("s%013d-%s", time.toEpochMilli(), HexFormat.of().formatHex(b));
    }

    public synchronized Optional<Sample> get(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            return Optional.empty();
        }
        List<Sample> l = query("SELECT * FROM samples WHERE id = ?", id);
        return l.isEmpty() ? Optional.empty() : Optional.of(l.get(0));
    }

    /** Newest first; {@code labelled} null = all. */
    public synchronized List<Sample> list(Boolean labelled, int limit) {
        String where = labelled == null ? "" : labelled ? " WHERE assigned_label IS NOT NULL"
                : " WHERE assigned_label IS NULL";
        return query("SELECT * FROM samples" + where + " ORDER BY time DESC LIMIT " + Math.max(0, limit));
    }

    /**
     * One change of a sample's label: who, when, what, and what it was before (null = unlabelled); {@code batch} the
     * bulk labelling (or its undo) it was part of, null for a single label.
     */
    public record LabelChange(String sampleId, Instant at, String who, String label, String previous, String batch) {}

    /** Batch ids: what {@link #labelBatch} makes, and all {@link #undoBatch} accepts. */
    public static final Pattern BATCH_ID = Pattern.compile("b[0-9]{13}-[0-9a-f]{8}");

    /** Most samples one bulk labelling may change. */
    public static final int MAX_BATCH = 1000;

    /** A bulk labelling: its id, the label given, the samples (in the order given) and when. */
    public record LabelBatch(String batch, String label, List<String> ids, String who, Instant at) {}

    /** Why a bulk change was refused; nothing was changed. {@code ids} the samples that caused it. */
    public static final class BatchRefused extends RuntimeException {
        private final List<String> ids;
        private final boolean conflict;

        BatchRefused(String message, List<String> ids, boolean conflict) {
            super(message);
            this.ids = java.util.Collections.unmodifiableList(new ArrayList<>(ids));
            this.conflict = conflict;
        }

        public List<String> ids() {
            return ids;
        }

        /** True when the request was well formed but the state forbids it (already undone, relabelled since). */
        public boolean conflict() {
            return conflict;
        }
    }

    /**
     * Labels every sample of {@code ids} with {@code label} in one transaction, recording each change in the history
     * under a new batch id: all or nothing. Duplicate ids count once. Throws {@link BatchRefused} (nothing changed)
     * when an id is not a stored sample.
     */
    public synchronized LabelBatch labelBatch(List<String> ids, String label, String who, Instant at) {
        List<String> unique = new ArrayList<>(new java.util.LinkedHashSet<>(ids));
        List<String> unknown = unique.stream().filter(id -> get(id).isEmpty()).toList();
        if (!unknown.isEmpty()) {
            throw new BatchRefused("no sample " + unknown, unknown, false);
        }
        byte[] b = new byte[4];
        random.nextBytes(b);
        String batch = String.format("b%013d-%s", at.toEpochMilli(), HexFormat.of().formatHex(b));
        transaction("label samples " + unique, () -> {
            try (PreparedStatement q = db.prepareStatement("SELECT assigned_label FROM samples WHERE id = ?");
                    PreparedStatement u = db.prepareStatement("UPDATE samples SET assigned_label = ? WHERE id = ?");
                    PreparedStatement h = db.prepareStatement("INSERT INTO label_history (sample_id, at, who, label,"
                            + " previous, batch) VALUES (?,?,?,?,?,?)");
                    PreparedStatement r = db.prepareStatement("INSERT INTO label_batches (id, at, who, label, size)"
                            + " VALUES (?,?,?,?,?)")) {
                for (String id : unique) {
                    q.setString(1, id);
                    String previous;
                    try (ResultSet rs = q.executeQuery()) {
                        if (!rs.next()) {
                            throw new BatchRefused("no sample [" + id + "]", List.of(id), false);
                        }
                        previous = rs.getString(1);
                    }
                    u.setString(1, label);
                    u.setString(2, id);
                    u.executeUpdate();
                    history(h, id, at, who, label, previous, batch);
                }
                r.setString(1, batch);
                r.setTimestamp(2, Timestamp.from(at));
                r.setString(3, who);
                r.setString(4, label);
                r.setInt(5, unique.size());
                r.executeUpdate();
            }
        });
        unique.forEach(id -> indexLabel(id, label));
        return new LabelBatch(batch, label, unique, who, at);
    }

    /**
     * Undoes a bulk labelling as one step, in one transaction: every sample of the batch gets back the label it had
     * before (null = unlabelled), recorded in its history under the same batch id. Samples deleted since are left
     * out. Refused ({@link BatchRefused}, nothing changed) when the batch is unknown ({@code conflict} false), already
     * undone, or a sample was relabelled since (those are named: undoing would overwrite a later decision). Returns
     * the samples restored with their labels now.
     */
    public synchronized java.util.Map<String, String> undoBatch(String batch, String who, Instant at) {
        java.util.Map<String, String> restored = new java.util.LinkedHashMap<>();
        transaction("undo label batch " + batch, () -> {
            try (PreparedStatement q = db.prepareStatement("SELECT undone_at, label FROM label_batches WHERE id = ?")) {
                q.setString(1, batch);
                try (ResultSet rs = q.executeQuery()) {
                    if (!rs.next()) {
                        throw new BatchRefused("no label batch '" + batch + "'", List.of(), false);
                    }
                    if (rs.getTimestamp(1) != null) {
                        throw new BatchRefused("label batch '" + batch + "' was already undone at "
                                + rs.getTimestamp(1).toInstant(), List.of(), true);
                    }
                }
            }
            // the batch's own changes (not undo entries, which come later with the same id)
            java.util.Map<String, String[]> changes = new java.util.LinkedHashMap<>();
            try (PreparedStatement q = db.prepareStatement("SELECT h.sample_id, h.label, h.previous, s.assigned_label"
                    + " FROM label_history h JOIN samples s ON s.id = h.sample_id WHERE h.batch = ? ORDER BY h.at")) {
                q.setString(1, batch);
                try (ResultSet rs = q.executeQuery()) {
                    while (rs.next()) {
                        changes.putIfAbsent(rs.getString(1), new String[] {rs.getString(2), rs.getString(3),
                                rs.getString(4)});
                    }
                }
            }
            List<String> changed = changes.entrySet().stream()
                    .filter(e -> !java.util.Objects.equals(e.getValue()[0], e.getValue()[2])).map(e -> e.getKey())
                    .toList();
            if (!changed.isEmpty()) {
                throw new BatchRefused("samples " + changed + " were relabelled after batch '" + batch + "'; undo"
                        + " would overwrite that: relabel them one by one instead", changed, true);
            }
            try (PreparedStatement u = db.prepareStatement("UPDATE samples SET assigned_label = ? WHERE id = ?");
                    PreparedStatement h = db.prepareStatement("INSERT INTO label_history (sample_id, at, who, label,"
                            + " previous, batch) VALUES (?,?,?,?,?,?)");
                    PreparedStatement d = db.prepareStatement("UPDATE label_batches SET undone_at = ?, undone_by = ?"
                            + " WHERE id = ?")) {
                for (var e : changes.entrySet()) {
                    String previous = e.getValue()[1];
                    u.setString(1, previous);
                    u.setString(2, e.getKey());
                    u.executeUpdate();
                    history(h, e.getKey(), at, who, previous, e.getValue()[0], batch);
                    restored.put(e.getKey(), previous);
                }
                d.setTimestamp(1, Timestamp.from(at));
                d.setString(2, who);
                d.setString(3, batch);
                d.executeUpdate();
            }
        });
        restored.forEach(this::indexLabel);
        return restored;
    }

    private static void history(PreparedStatement h, String id, Instant at, String who, String label,
            String previous, String batch) throws SQLException {
        h.setString(1, id);
        h.setTimestamp(2, Timestamp.from(at));
        h.setString(3, who);
        h.setString(4, label);
        h.setString(5, previous);
        h.setString(6, batch);
        h.executeUpdate();
    }

    private interface SqlWork {
        void run() throws SQLException;
    }

    /** Runs {@code work} in one transaction: committed when it returns, rolled back when it throws. */
    private void transaction(String what, SqlWork work) {
        try {
            db.setAutoCommit(false);
            try {
                work.run();
                db.commit();
            } catch (SQLException | RuntimeException e) {
                db.rollback();
                throw e;
            } finally {
                db.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot " + what + " in " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Sets (or with {@code label} null, clears) the operator's label of a sample and records the change in the
     * history, in one transaction. Returns the updated sample, empty when there is no such sample.
     */
    public synchronized Optional<Sample> label(String id, String label, String who, Instant at) {
        Optional<Sample> s = get(id);
        if (s.isEmpty()) {
            return s;
        }
        try {
            db.setAutoCommit(false);
            try (PreparedStatement u = db.prepareStatement("UPDATE samples SET assigned_label = ? WHERE id = ?");
                    PreparedStatement h = db.prepareStatement("INSERT INTO label_history (sample_id, at, who, label,"
                            + " previous, batch) VALUES (?,?,?,?,?,?)")) {
                u.setString(1, label);
                u.setString(2, id);
                u.executeUpdate();
                history(h, id, at, who, label, s.get().assignedLabel(), null);
                db.commit();
            } catch (SQLException e) {
                db.rollback();
                throw e;
            } finally {
                db.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot label sample " + id + " in " + dir + ": " + e.getMessage(), e);
        }
        indexLabel(id, label);
        return get(id);
    }

    /**
     * Sets (or with {@code value} null, clears) the operator's class of a multi-task model's other head {@code head}
     * on a sample. Returns the updated sample, empty when there is no such sample. The caller checks that the head
     * and class exist ({@link Sample#headClasses}).
     */
    public synchronized Optional<Sample> labelAttribute(String id, String head, String value) {
        Optional<Sample> s = get(id);
        if (s.isEmpty()) {
            return s;
        }
        java.util.Map<String, String> assigned = new java.util.TreeMap<>(s.get().assignedAttributes());
        if (value == null) {
            assigned.remove(head);
        } else {
            assigned.put(head, value);
        }
        try (PreparedStatement u = db.prepareStatement("UPDATE samples SET assigned_attributes = ? WHERE id = ?")) {
            u.setString(1, assigned.isEmpty() ? null : JSON.writeValueAsString(assigned));
            u.setString(2, id);
            u.executeUpdate();
        } catch (SQLException | IOException e) {
            throw new IllegalStateException("cannot set head '" + head + "' of sample " + id + " in " + dir + ": "
                    + e.getMessage(), e);
        }
        return get(id);
    }

    /** The label history of a sample, oldest first. */
    public synchronized List<LabelChange> history(String id) {
        List<LabelChange> out = new ArrayList<>();
        try (PreparedStatement p = db.prepareStatement(
                "SELECT * FROM label_history WHERE sample_id = ? ORDER BY at, label")) {
            p.setString(1, id);
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    out.add(new LabelChange(r.getString("sample_id"), r.getTimestamp("at").toInstant(),
                            r.getString("who"), r.getString("label"), r.getString("previous"),
                            r.getString("batch")));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("sample index in " + dir + ": " + e.getMessage(), e);
        }
        return out;
    }

    public Path imageFile(Sample s) {
        return dir.resolve(s.file());
    }

    /** Where a sample's thumbnail lives, relative to the store: beside its JPEG. */
    private static String thumbnailPath(String jpegRel) {
        return jpegRel.substring(0, jpegRel.length() - ".jpg".length()) + ".thumb.jpg";
    }

    /**
     * The sample's grid thumbnail ({@link Thumbnails}): made on the first request from the stored JPEG and kept beside
     * it as {@code <id>.thumb.jpg} (written durably; its bytes are added to the sample's, so the quota sees it), read
     * from there afterwards. Made lazily rather than when the sample is stored, so the inference worker never spends
     * time on it while it holds this store and samples nobody looks at (most audit samples) cost nothing. Empty when
     * the sample (or its image) is gone, deleted meanwhile included: then no thumbnail is left behind.
     */
    public Optional<Path> thumbnail(Sample s) throws IOException {
        Path thumb = dir.resolve(thumbnailPath(s.file()));
        if (Files.exists(thumb)) {
            return Optional.of(thumb);
        }
        byte[] jpeg;
        try {
            jpeg = Files.readAllBytes(dir.resolve(s.file()));
        } catch (java.nio.file.NoSuchFileException e) {
            return Optional.empty();
        }
        // outside the lock (decoding and scaling take milliseconds), and two at a time: a first look at a grid asks
        // for 24 at once, which must not take every core from inspection
        byte[] small;
        try {
            thumbnailing.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting to make the thumbnail of " + s.id(), e);
        }
        try {
            small = Thumbnails.make(jpeg);
        } finally {
            thumbnailing.release();
        }
        synchronized (this) {
            if (get(s.id()).isEmpty()) {
                return Optional.empty();
            }
            if (!Files.exists(thumb)) {
                AtomicFiles.write(thumb, small);
                try (PreparedStatement p = db.prepareStatement("UPDATE samples SET bytes = bytes + ? WHERE id = ?")) {
                    p.setLong(1, small.length);
                    p.setString(2, s.id());
                    p.executeUpdate();
                } catch (SQLException e) {
                    Files.deleteIfExists(thumb);
                    throw new IOException("sample index in " + dir + ": " + e.getMessage(), e);
                }
            }
            return Optional.of(thumb);
        }
    }

    /** Where a sample's embedding lives, relative to the store: beside its JPEG. */
    private static String embeddingPath(String jpegRel) {
        return jpegRel.substring(0, jpegRel.length() - ".jpg".length()) + ".embedding.f32";
    }

    private static byte[] encode(float[] v) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(v.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b.array();
    }

    /** A stored embedding: the model that made it and the unit vector. */
    public record Embedding(String model, float[] vector) {}

    /**
     * The embedding stored with sample {@code id}; empty when there is no such sample, it has none (stored before
     * embeddings, in collect mode, or by a model without drift features) or its file is gone or damaged.
     */
    public synchronized Optional<Embedding> embedding(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            return Optional.empty();
        }
        try (PreparedStatement p = db.prepareStatement("SELECT file, embedding_model FROM samples WHERE id = ?")) {
            p.setString(1, id);
            try (ResultSet r = p.executeQuery()) {
                return r.next() ? readEmbedding(r.getString(1), r.getString(2)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("sample index in " + dir + ": " + e.getMessage(), e);
        }
    }

    private Optional<Embedding> readEmbedding(String file, String model) {
        if (model == null) {
            return Optional.empty();
        }
        byte[] b;
        try {
            b = Files.readAllBytes(dir.resolve(embeddingPath(file)));
        } catch (IOException e) {
            return Optional.empty(); // removed meanwhile, or unreadable: as if it had none
        }
        if (b.length == 0 || b.length % 4 != 0) {
            return Optional.empty();
        }
        float[] v = new float[b.length / 4];
        java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        return Optional.of(new Embedding(model, v));
    }

    /** The index of labelled embeddings, loaded from the stored files on first use. Called holding this store. */
    private SimilarIndex similarIndex() {
        if (similarIndex == null) {
            SimilarIndex index = new SimilarIndex();
            try (Statement st = db.createStatement(); ResultSet r = st.executeQuery("SELECT id, file, embedding_model,"
                    + " assigned_label FROM samples WHERE assigned_label IS NOT NULL AND embedding_model IS NOT NULL")) {
                while (r.next()) {
                    String id = r.getString(1);
                    String label = r.getString(4);
                    readEmbedding(r.getString(2), r.getString(3)).ifPresent(e -> index.put(id, e.model(), label,
                            e.vector()));
                }
            } catch (SQLException e) {
                throw new IllegalStateException("sample index in " + dir + ": " + e.getMessage(), e);
            }
            similarIndex = index;
        }
        return similarIndex;
    }

    /** Keeps the loaded index in step with sample {@code id}'s label ({@code label} null = unlabelled). */
    private void indexLabel(String id, String label) {
        if (similarIndex == null) {
            return; // not loaded: loading reads the labels as they are then
        }
        if (label != null && similarIndex.relabel(id, label)) {
            return; // in already: its vector does not change with its label
        }
        Optional<Embedding> e = label == null ? Optional.empty() : embedding(id);
        if (e.isPresent()) {
            similarIndex.put(id, e.get().model(), label, e.get().vector());
        } else {
            similarIndex.remove(id);
        }
    }

    /** One labelled sample near another, with its cosine similarity. */
    public record Match(Sample sample, double similarity) {}

    /**
     * The labelled samples nearest to a sample ({@link #similar}).
     *
     * @param model the model that made the sample's embedding (null when it has none)
     * @param nearest the {@code limit} nearest labelled samples embedded by that model, most similar first
     * @param byClass the nearest of each class, by class name
     * @param compared how many labelled samples were compared
     * @param reason why the list is empty (no embedding, no labelled sample of the model); null otherwise
     */
    public record Similar(Sample sample, String model, List<Match> nearest, java.util.Map<String, Match> byClass,
            int compared, String reason) {}

    /**
     * The {@code limit} labelled samples most like sample {@code id} by the cosine similarity of their embeddings,
     * among those embedded by the same model (another model's features are not comparable), never the sample itself;
     * and the nearest of each class. Empty when there is no such sample. The search runs outside this store's lock
     * (on the in-memory index, loaded on first use), so inspection never waits for it.
     */
    public Optional<Similar> similar(String id, int limit) {
        Optional<Sample> sample;
        Optional<Embedding> e;
        SimilarIndex index;
        synchronized (this) {
            sample = get(id);
            if (sample.isEmpty()) {
                return Optional.empty();
            }
            e = embedding(id);
            index = similarIndex();
        }
        Sample s = sample.get();
        if (e.isEmpty()) {
            return Optional.of(new Similar(s, null, List.of(), java.util.Map.of(), 0, "sample " + id + " has no"
                    + " embedding: " + (s.modelId() == null ? "it was collected without a model"
                    : "the model that judged it (" + s.modelId() + ") gives no drift features, or it was stored"
                    + " before embeddings were kept")));
        }
        SimilarIndex.Nearest n = index.nearest(e.get().model(), e.get().vector(), id, limit);
        List<Match> nearest = new ArrayList<>();
        for (SimilarIndex.Neighbour x : n.nearest()) {
            get(x.id()).ifPresent(m -> nearest.add(new Match(m, x.similarity()))); // deleted meanwhile: left out
        }
        java.util.Map<String, Match> byClass = new java.util.LinkedHashMap<>();
        n.byClass().forEach((label, x) -> get(x.id()).ifPresent(m -> byClass.put(label, new Match(m,
                x.similarity()))));
        return Optional.of(new Similar(s, e.get().model(), nearest, byClass, n.compared(), nearest.isEmpty()
                ? "no labelled sample embedded by model " + e.get().model() + " yet: label some samples it judged"
                : null));
    }

    /** Where a sample's heatmap lives, relative to the store: beside its JPEG. */
    private static String heatmapPath(String jpegRel) {
        return jpegRel.substring(0, jpegRel.length() - ".jpg".length()) + ".heatmap.png";
    }

    /**
     * The defect map stored with a sample, read back from its PNG (scores to 1/255); empty when the sample has none or
     * its file has gone (removed by the quota between the lookup and now).
     */
    public Optional<DefectMap> heatmap(Sample s) {
        if (s.heatmap() == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(DefectMap.fromPng(Files.readAllBytes(dir.resolve(s.heatmap().file())),
                    s.heatmap().geometry()));
        } catch (java.nio.file.NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the heatmap of sample " + s.id() + " in " + dir + ": "
                    + e.getMessage(), e);
        }
    }

    public synchronized long count() {
        return scalar("SELECT COUNT(*) FROM samples");
    }

    /** Labelled samples per class, in class-name order. */
    public synchronized java.util.Map<String, Long> labelCounts() {
        java.util.Map<String, Long> out = new java.util.TreeMap<>();
        try (Statement s = db.createStatement(); ResultSet r = s.executeQuery("SELECT assigned_label, COUNT(*)"
                + " FROM samples WHERE assigned_label IS NOT NULL GROUP BY assigned_label")) {
            while (r.next()) {
                out.put(r.getString(1), r.getLong(2));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("sample index in " + dir + ": " + e.getMessage(), e);
        }
        return out;
    }

    public synchronized long totalBytes() {
        return scalar("SELECT COALESCE(SUM(bytes), 0) FROM samples");
    }

    /**
     * Applies retention (older than the period go) and the quota (oldest first until under it). Returns how many
     * samples were removed.
     */
    public synchronized int enforce(Instant now) {
        int removed = 0;
        if (retention != null) {
            for (Sample s : query("SELECT * FROM samples WHERE time < ?", Timestamp.from(now.minus(retention)))) {
                removed += delete(s) ? 1 : 0;
            }
        }
        long total = totalBytes();
        if (total > quotaBytes) {
            for (Sample s : query("SELECT * FROM samples ORDER BY time ASC LIMIT 10000")) {
                if (total <= quotaBytes) {
                    break;
                }
                if (delete(s)) {
                    total -= s.bytes();
                    removed++;
                }
            }
        }
        if (removed > 0) {
            LOG.log(System.Logger.Level.INFO, "sample store: removed {0} samples (quota {1} MB, retention {2})",
                    removed, quotaBytes >> 20, retention);
        }
        return removed;
    }

    /** Removes a sample: index row first, then its files. */
    public synchronized boolean delete(Sample s) {
        try (PreparedStatement p = db.prepareStatement("DELETE FROM samples WHERE id = ?")) {
            p.setString(1, s.id());
            if (p.executeUpdate() == 0) {
                return false;
            }
            Files.deleteIfExists(dir.resolve(s.file()));
            Files.deleteIfExists(dir.resolve(heatmapPath(s.file())));
            Files.deleteIfExists(dir.resolve(thumbnailPath(s.file())));
            Files.deleteIfExists(dir.resolve(embeddingPath(s.file())));
            Files.deleteIfExists(dir.resolve(s.file().replace(".jpg", ".json")));
            if (similarIndex != null) {
                similarIndex.remove(s.id());
            }
            return true;
        } catch (SQLException | IOException e) {
            throw new IllegalStateException("cannot delete sample " + s.id() + " from " + dir + ": " + e.getMessage(),
                    e);
        }
    }

    private long scalar(String sql) {
        try (Statement s = db.createStatement(); ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException("sample index in " + dir + ": " + e.getMessage(), e);
        }
    }

    private List<Sample> query(String sql, Object... args) {
        try (PreparedStatement p = db.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                p.setObject(i + 1, args[i]);
            }
            List<Sample> out = new ArrayList<>();
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    out.add(new Sample(r.getString("id"), r.getString("camera"),
                            r.getTimestamp("time").toInstant(), r.getString("file"), r.getLong("bytes"),
                            r.getString("reason"), r.getString("model_id"), r.getString("verdict"),
                            r.getString("label"), r.getDouble("confidence"),
                            JSON.readValue(r.getString("labels"), new TypeReference<List<String>>() {}),
                            JSON.readValue(r.getString("probabilities"), new TypeReference<List<Double>>() {}),
                            r.getString("assigned_label"), r.getString("source"),
                            r.getString("heatmap") == null ? null
                                    : JSON.readValue(r.getString("heatmap"), SampleHeatmap.class),
                            r.getString("attributes") == null ? null : JSON.readValue(r.getString("attributes"),
                                    new TypeReference<java.util.Map<String, dev.vigil.app.mqtt.Attribute>>() {}),
                            r.getString("assigned_attributes") == null ? null
                                    : JSON.readValue(r.getString("assigned_attributes"),
                                            new TypeReference<java.util.Map<String, String>>() {})));
                }
            }
            return out;
        } catch (SQLException | IOException e) {
            throw new IllegalStateException("sample index in " + dir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            db.close();
        } catch (SQLException e) {
            LOG.log(System.Logger.Level.WARNING, "closing the sample index: " + e.getMessage());
        }
    }
}
