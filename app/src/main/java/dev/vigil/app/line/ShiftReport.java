package dev.vigil.app.line;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The shift report over part records: pure counting, no I/O. Records are {@link #add added} one at a time (a report
 * streams through a store's records; its memory is one row per hour, defect label and error code), then
 * {@link #result} sums them up.
 *
 * <ul>
 *   <li>totals: parts, {@code ok} and {@code ng} as reported to the line, NG rate = ng / parts (null without
 *       parts);</li>
 *   <li>parts per verdict (every verdict of {@link PartRecord}, 0 when none, then any other seen);</li>
 *   <li>top defect types: the {@link #TOP} most frequent labels of the parts judged {@code defect}, with their share
 *       of the NG parts (uncertain, unclassified and late parts are NG without a defect type: they are in the
 *       verdict counts);</li>
 *   <li>deadline misses: parts with verdict {@code late};</li>
 *   <li>errors by code;</li>
 *   <li>per hour (hours begin on the hour in the report's zone): parts, ok, ng, NG rate, late. Every hour of the
 *       range is listed, empty ones too, when the range has at most {@value #ALL_HOURS} hours; beyond that only hours
 *       with parts.</li>
 * </ul>
 * Not thread-safe.
 */
public final class ShiftReport {
    /** Defect types listed. */
    public static final int TOP = 10;
    /** Ranges up to this many hours list every hour, empty ones too (31 days). */
    public static final int ALL_HOURS = 744;
    /** The verdicts of a part record, in the order reports list them. */
    public static final List<String> VERDICTS = List.of("ok", "defect", "uncertain", "unclassified", "late");

    private final Instant from;
    private final Instant to;
    private final ZoneId zone;
    private long parts;
    private long ok;
    private long ng;
    private final Map<String, Long> verdicts = new LinkedHashMap<>();
    private final Map<String, Long> defects = new HashMap<>();
    private final Map<String, Long> errors = new HashMap<>();
    private final TreeMap<Instant, long[]> hours = new TreeMap<>();

    /** A report of {@code [from, to)}, its hours in {@code zone}. */
    public ShiftReport(Instant from, Instant to, ZoneId zone) {
        this.from = from;
        this.to = to;
        this.zone = zone;
        VERDICTS.forEach(v -> verdicts.put(v, 0L));
    }

    /** Counts one part (the caller has chosen the parts: time range, lot, camera). */
    public void add(PartRecord p) {
        parts++;
        boolean isOk = p.reported().equals("ok");
        if (isOk) {
            ok++;
        } else {
            ng++;
        }
        verdicts.merge(p.verdict(), 1L, Long::sum);
        boolean late = p.verdict().equals("late");
        if (p.verdict().equals("defect") && !isOk) {
            defects.merge(p.label() == null ? "(no label)" : p.label(), 1L, Long::sum);
        }
        if (p.error() != null) {
            errors.merge(p.error(), 1L, Long::sum);
        }
        long[] h = hours.computeIfAbsent(hourOf(p.time()), k -> new long[4]);
        h[0]++;
        h[isOk ? 1 : 2]++;
        if (late) {
            h[3]++;
        }
    }

    private Instant hourOf(Instant t) {
        return ZonedDateTime.ofInstant(t, zone).truncatedTo(ChronoUnit.HOURS).toInstant();
    }

    /** The report so far; {@code lot} and {@code camera} are the filters its parts were chosen by (null = all). */
    public Result result(String lot, String camera) {
        List<Count> top = defects.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .limit(TOP).map(e -> new Count(e.getKey(), e.getValue(), rate(e.getValue(), ng))).toList();
        Map<String, Long> errs = new LinkedHashMap<>();
        errors.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .forEach(e -> errs.put(e.getKey(), e.getValue()));
        List<Hour> rows = new ArrayList<>();
        Instant first = hourOf(from);
        boolean every = to.isAfter(from) && Duration.between(first, to).toHours() <= ALL_HOURS;
        if (every) {
            // by zoned hours, so a day with a clock change has its 23 or 25 hours
            for (ZonedDateTime h = ZonedDateTime.ofInstant(first, zone); h.toInstant().isBefore(to);
                    h = h.plusHours(1)) {
                rows.add(hour(h.toInstant(), hours.get(h.toInstant())));
            }
        } else {
            hours.forEach((h, c) -> rows.add(hour(h, c)));
        }
        rows.sort(Comparator.comparing(Hour::hour));
        return new Result(from, to, zone.getId(), lot, camera, new Totals(parts, ok, ng, rate(ng, parts)),
                new LinkedHashMap<>(verdicts), top, verdicts.getOrDefault("late", 0L), errs, rows);
    }

    private static Hour hour(Instant h, long[] c) {
        return c == null ? new Hour(h, 0, 0, 0, null, 0) : new Hour(h, c[0], c[1], c[2], rate(c[2], c[0]), c[3]);
    }

    /** {@code part / whole}, rounded to 4 decimals; null when {@code whole} is 0. */
    static Double rate(long part, long whole) {
        return whole == 0 ? null : Math.round(10_000.0 * part / whole) / 10_000.0;
    }

    /**
     * The report.
     *
     * @param zone the zone its hours begin in
     * @param lot the lot its parts were chosen by, null = every lot
     * @param camera the camera its parts were chosen by, null = every camera
     * @param deadlineMisses parts with verdict {@code late}
     * @param errors parts per error code, most frequent first
     */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Result(Instant from, Instant to, String zone, String lot, String camera, Totals totals,
            Map<String, Long> verdicts, List<Count> topDefects, long deadlineMisses, Map<String, Long> errors,
            List<Hour> hours) {}

    /** Parts and what the line was told; {@code ngRate} = ng / parts, null without parts. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Totals(long parts, long ok, long ng, Double ngRate) {}

    /** A defect type: how many parts were judged defect with this label, and their share of the NG parts. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Count(String label, long count, Double share) {}

    /** One hour from {@code hour} on. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Hour(Instant hour, long parts, long ok, long ng, Double ngRate, long late) {}
}
