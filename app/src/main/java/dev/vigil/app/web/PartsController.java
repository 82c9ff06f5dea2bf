package dev.vigil.app.web;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.vigil.app.auth.Sessions;
import dev.vigil.app.line.LotCommand;
import dev.vigil.app.line.Lots;
import dev.vigil.app.line.PartCsv;
import dev.vigil.app.line.PartJson;
import dev.vigil.app.line.PartStore;
import dev.vigil.app.line.ShiftReport;
import dev.vigil.app.service.InspectionPipeline;
import dev.vigil.config.DeviceConfig;
import dev.vigil.core.VigilException;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Consumes;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Put;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.server.types.files.StreamedFile;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Traceability over HTTP: the part records of a time range ({@code GET /api/parts}, JSON or CSV), the shift report
 * over them ({@code GET /api/parts/report}, JSON or CSV), and the lot in force per camera ({@code GET /api/lot}; {@code
 * PUT /api/lot} for operators and admins). Reading needs a session of any role and changing the lot an operator or
 * an admin with the CSRF token: {@link AuthFilter}'s rules for every path, nothing opened here. A bad parameter is 400
 * naming the parameter, the value and the form expected.
 */
@Controller("/api")
@ExecuteOn(TaskExecutors.BLOCKING)
public class PartsController {
    /** The rows {@code GET /api/parts} gives without {@code limit}. */
    public static final int DEFAULT_LIMIT = 1000;
    /** The most rows one request may ask for. */
    public static final int MAX_LIMIT = 100_000;
    /** The longest range a report covers. */
    public static final Duration MAX_REPORT = Duration.ofDays(31);
    static final MediaType CSV = new MediaType("text/csv; charset=utf-8");
    private static final System.Logger LOG = System.getLogger(PartsController.class.getName());
    private static final DateTimeFormatter FILE_TIME = DateTimeFormatter.ofPattern("uuuuMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);
    private final PartStore parts;
    private final Lots lots;
    private final InspectionPipeline pipeline;

    public PartsController(PartStore parts, Lots lots, InspectionPipeline pipeline) {
        this.parts = parts;
        this.lots = lots;
        this.pipeline = pipeline;
    }

    /** A parameter that cannot be used: its message names it, its value and what it should be. */
    static final class BadParameter extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadParameter(String message) {
            super(message);
        }
    }

    /**
     * The part records of {@code [from, to)} (ISO-8601 instants; default the last 24 hours), of one {@code lot} and
     * one {@code camera} when given, at most {@code limit} (default 1000, at most 100000), newest first (or {@code
     * order=oldest}). JSON: {@code {from, to, lot, camera, limit, order, parts: [...], count, truncated}}; CSV with
     * {@code format=csv} or {@code Accept: text/csv}, as a download.
     */
    @Get(value = "/parts", produces = {MediaType.APPLICATION_JSON, "text/csv"})
    public HttpResponse<?> parts(@Nullable @QueryValue String from, @Nullable @QueryValue String to,
            @Nullable @QueryValue String lot, @Nullable @QueryValue String camera, @Nullable @QueryValue String limit,
            @Nullable @QueryValue String order, @Nullable @QueryValue String format, HttpRequest<?> request) {
        try {
            Instant[] range = range(from, to, Duration.ofHours(24));
            String lotFilter = lot(lot);
            String cameraFilter = camera(camera);
            int max = limit(limit);
            boolean newest = order(order);
            boolean csv = csv(format, request);
            PartStore.Cursor cursor = parts.open(new PartStore.Query(range[0], range[1], lotFilter, cameraFilter,
                    max == Integer.MAX_VALUE ? max : max + 1, newest));
            if (csv) {
                return download(csvChunks(cursor, max), cursor, "parts", range);
            }
            return HttpResponse.ok(new StreamedFile(new ChunkInputStream(jsonChunks(cursor, max, range, lotFilter,
                    cameraFilter, newest), cursor::close), MediaType.APPLICATION_JSON_TYPE));
        } catch (BadParameter e) {
            return HttpResponse.badRequest(Map.of("error", e.getMessage()));
        } catch (UncheckedIOException e) {
            return unreadable(e);
        }
    }

    /**
     * The shift report over the part records of {@code [from, to)} (default the last 8 hours, at most 31 days), of
     * one {@code lot} and one {@code camera} when given, hours in {@code zone} (an IANA zone id; default UTC). JSON
     * ({@link ShiftReport.Result}) or CSV ({@link PartCsv#report}) with {@code format=csv} or {@code Accept: text/csv}.
     */
    @Get(value = "/parts/report", produces = {MediaType.APPLICATION_JSON, "text/csv"})
    public HttpResponse<?> report(@Nullable @QueryValue String from, @Nullable @QueryValue String to,
            @Nullable @QueryValue String lot, @Nullable @QueryValue String camera, @Nullable @QueryValue String zone,
            @Nullable @QueryValue String format, HttpRequest<?> request) {
        try {
            Instant[] range = range(from, to, Duration.ofHours(8));
            if (Duration.between(range[0], range[1]).compareTo(MAX_REPORT) > 0) {
                throw new BadParameter("from/to: a report covers at most " + MAX_REPORT.toDays() + " days, and "
                        + range[0] + " to " + range[1] + " is " + Duration.between(range[0], range[1]).toDays()
                        + " days; narrow the range (or export the parts with GET /api/parts)");
            }
            String lotFilter = lot(lot);
            String cameraFilter = camera(camera);
            ZoneId z = zone(zone);
            boolean csv = csv(format, request);
            ShiftReport report = new ShiftReport(range[0], range[1], z);
            try (PartStore.Cursor c = parts.open(PartStore.Query.all(range[0], range[1], lotFilter, cameraFilter))) {
                c.forEachRemaining(report::add);
            }
            ShiftReport.Result result = report.result(lotFilter, cameraFilter);
            if (csv) {
                byte[] bytes = PartCsv.report(result).getBytes(StandardCharsets.UTF_8);
                return HttpResponse.ok(bytes).contentType(CSV).header("Content-Disposition",
                        disposition("shift-report", range));
            }
            return HttpResponse.ok(result);
        } catch (BadParameter e) {
            return HttpResponse.badRequest(Map.of("error", e.getMessage()));
        } catch (UncheckedIOException e) {
            return unreadable(e);
        }
    }

    /** The store could not be read (permissions, a disk error): 500 saying which file and why. */
    private static HttpResponse<?> unreadable(UncheckedIOException e) {
        LOG.log(System.Logger.Level.ERROR, e.getMessage(), e);
        return HttpResponse.serverError(Map.of("error", e.getMessage() + "; check the permissions and the disk of"
                + " storage.dir/parts"));
    }

    /** A camera and its lot (null: none set). */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record CameraLot(String camera, String lot) {}

    /** Every configured camera's lot (null when none is set), and any other camera a lot was set for. */
    @Get("/lot")
    public Map<String, List<CameraLot>> lot() {
        Set<String> ids = new LinkedHashSet<>(cameraIds());
        ids.addAll(new java.util.TreeSet<>(lots.all().keySet()));
        List<CameraLot> out = new ArrayList<>();
        ids.forEach(id -> out.add(new CameraLot(id, lots.of(id))));
        return Map.of("lots", out);
    }

    /**
     * Sets the lot: {@code {"camera": "cam1", "lot": "L-123"}}, camera left out = every camera, {@code ""} clears it
     * (operator or admin, CSRF token). 400 with the reason for a bad body, an unknown camera or a bad lot id.
     */
    @Put("/lot")
    @Consumes({MediaType.APPLICATION_JSON, MediaType.TEXT_PLAIN})
    public HttpResponse<?> setLot(@Nullable @Body String body, HttpRequest<?> request) {
        LotCommand.Applied a;
        try {
            a = LotCommand.apply(lots, cameraIds(), body);
        } catch (VigilException e) {
            return HttpResponse.badRequest(Map.of("error", e.getMessage()));
        }
        String who = request.getAttribute(AuthFilter.SESSION, Sessions.Session.class).map(Sessions.Session::name)
                .orElse("?");
        LOG.log(System.Logger.Level.INFO, "lot of {0} {1} by {2} over HTTP", a.cameras(),
                a.lot() == null ? "cleared" : "set to '" + a.lot() + "'", who);
        return HttpResponse.ok(lot());
    }

    private List<String> cameraIds() {
        return pipeline.config().cameras().stream().map(DeviceConfig.Camera::id).toList();
    }

    // ---- responses ----------------------------------------------------------------------------------------------

    private static HttpResponse<?> download(java.util.function.Supplier<byte[]> chunks, PartStore.Cursor cursor,
            String what, Instant[] range) {
        return HttpResponse.ok(new StreamedFile(new ChunkInputStream(chunks, cursor::close), CSV))
                .contentType(CSV).header("Content-Disposition", disposition(what, range));
    }

    private static String disposition(String what, Instant[] range) {
        return "attachment; filename=\"" + what + "_" + FILE_TIME.format(range[0]) + "_" + FILE_TIME.format(range[1])
                + ".csv\"";
    }

    /** CSV: the header, then rows in chunks of about 64 KiB, at most {@code max}. */
    private static java.util.function.Supplier<byte[]> csvChunks(PartStore.Cursor cursor, int max) {
        int[] rows = {-1};
        return () -> {
            if (rows[0] < 0) {
                rows[0] = 0;
                return PartCsv.partHeader();
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream(70_000);
            while (out.size() < 64 * 1024 && rows[0] < max && cursor.hasNext()) {
                byte[] row = PartCsv.part(cursor.next());
                out.write(row, 0, row.length);
                rows[0]++;
            }
            return out.size() == 0 ? null : out.toByteArray();
        };
    }

    /** JSON: the query, the parts in chunks of about 64 KiB, then the count and whether more matched. */
    private static java.util.function.Supplier<byte[]> jsonChunks(PartStore.Cursor cursor, int max, Instant[] range,
            String lot, String camera, boolean newest) {
        int[] state = {0, 0}; // 0 head, 1 parts, 2 tail written; count
        return () -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream(70_000);
            try (JsonGenerator g = PartJson.generator(out)) {
                switch (state[0]) {
                    case 0 -> {
                        g.writeStartObject();
                        g.writeStringField("from", range[0].toString());
                        g.writeStringField("to", range[1].toString());
                        g.writeStringField("lot", lot);
                        g.writeStringField("camera", camera);
                        g.writeNumberField("limit", max);
                        g.writeStringField("order", newest ? "newest" : "oldest");
                        g.writeFieldName("parts");
                        g.writeStartArray();
                        g.flush();
                        state[0] = 1;
                        return out.toByteArray();
                    }
                    case 1 -> {
                        while (out.size() < 64 * 1024 && state[1] < max && cursor.hasNext()) {
                            if (state[1] > 0) {
                                out.write(',');
                            }
                            out.write(PartJson.bytes(cursor.next()));
                            state[1]++;
                        }
                        if (out.size() > 0) {
                            return out.toByteArray();
                        }
                        boolean truncated = state[1] >= max && cursor.hasNext();
                        state[0] = 2;
                        return ("],\"count\":" + state[1] + ",\"truncated\":" + truncated + "}")
                                .getBytes(StandardCharsets.UTF_8);
                    }
                    default -> {
                        return null;
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
    }

    // ---- parameters ---------------------------------------------------------------------------------------------

    /** from and to: to defaults to now, from to {@code span} before to. */
    static Instant[] range(String from, String to, Duration span) {
        Instant t = to == null || to.isBlank() ? Instant.now() : instant("to", to);
        Instant f = from == null || from.isBlank() ? t.minus(span) : instant("from", from);
        if (!f.isBefore(t)) {
            throw new BadParameter("from (" + f + ") must be before to (" + t + ")");
        }
        return new Instant[] {f, t};
    }

    static Instant instant(String name, String value) {
        try {
            return Instant.parse(value);
        } catch (DateTimeParseException e) {
            try {
                return OffsetDateTime.parse(value).toInstant();
            } catch (DateTimeParseException e2) {
                throw new BadParameter(name + ": '" + abbreviate(value) + "' is not an ISO-8601 instant; give it in"
                        + " UTC, e.g. 2026-12-03T06:00:00Z, or with its offset, e.g. 2026-12-03T07:00:00+01:00");
            }
        }
    }

    static String lot(String lot) {
        if (lot == null || lot.isEmpty()) {
            return null;
        }
        String p = Lots.problem(lot);
        if (p != null) {
            throw new BadParameter("lot: " + p);
        }
        return lot.strip();
    }

    static String camera(String camera) {
        if (camera == null || camera.isEmpty()) {
            return null;
        }
        if (!camera.matches("[A-Za-z0-9_-]{1,64}")) {
            throw new BadParameter("camera: '" + abbreviate(camera) + "' is not a camera id (1-64 letters, digits,"
                    + " '-' or '_')");
        }
        return camera;
    }

    static int limit(String limit) {
        if (limit == null || limit.isEmpty()) {
            return DEFAULT_LIMIT;
        }
        try {
            int n = Integer.parseInt(limit.strip());
            if (n >= 1 && n <= MAX_LIMIT) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new BadParameter("limit: '" + abbreviate(limit) + "' must be a whole number from 1 to " + MAX_LIMIT);
    }

    static boolean order(String order) {
        if (order == null || order.isEmpty() || order.equals("newest")) {
            return true;
        }
        if (order.equals("oldest")) {
            return false;
        }
        throw new BadParameter("order: '" + abbreviate(order) + "' must be newest or oldest");
    }

    static ZoneId zone(String zone) {
        if (zone == null || zone.isEmpty()) {
            return ZoneId.of("UTC");
        }
        try {
            return ZoneId.of(zone);
        } catch (DateTimeException e) {
            throw new BadParameter("zone: '" + abbreviate(zone) + "' is not a time zone; give an IANA zone id such as"
                    + " Europe/Berlin, or UTC");
        }
    }

    /** CSV when {@code format=csv}, or without {@code format} when the client accepts text/csv and not JSON first. */
    static boolean csv(String format, HttpRequest<?> request) {
        if (format != null && !format.isEmpty()) {
            return switch (format) {
                case "csv" -> true;
                case "json" -> false;
                default -> throw new BadParameter("format: '" + abbreviate(format) + "' must be json or csv");
            };
        }
        List<MediaType> accept = request.getHeaders().accept();
        for (MediaType m : accept) {
            if (m.getName().equals("text/csv")) {
                return true;
            }
            if (m.getName().equals(MediaType.APPLICATION_JSON)) {
                return false;
            }
        }
        return false;
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
