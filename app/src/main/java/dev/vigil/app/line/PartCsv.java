package dev.vigil.app.line;

import dev.vigil.app.mqtt.Region;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Part records and shift reports as CSV (RFC 4180): a header row, comma separated, CRLF line ends, UTF-8. A field
 * holding a comma, a quote, CR or LF is quoted, its quotes doubled. A text field beginning with {@code = + - @}, tab
 * or CR gets a leading {@code '} so that a spreadsheet shows it instead of running it as a formula (a lot id is
 * whatever the PLC or an operator wrote). Numbers are written as they are (ratios with 4 decimals); null is an empty
 * field.
 */
public final class PartCsv {
    /** The columns of a part row. */
    public static final List<String> PART_COLUMNS = List.of("time", "camera", "sequence", "lot", "trigger", "modelId",
            "verdict", "reported", "label", "score", "regionX", "regionY", "regionWidth", "regionHeight",
            "imageSha256", "sampleId", "error", "processingMs");
    /** The columns of a report row (one table: the {@code section} column says what a row is). */
    public static final List<String> REPORT_COLUMNS = List.of("section", "key", "parts", "ok", "ng", "ngRate", "late",
            "count", "share");

    private PartCsv() {}

    /** The header row of a parts export, with its line end. */
    public static byte[] partHeader() {
        return line(PART_COLUMNS.stream().map(PartCsv::text).toList());
    }

    /** One part as a row, with its line end. */
    public static byte[] part(PartRecord p) {
        Region r = p.region();
        return line(List.of(text(p.time().toString()), text(p.camera()), Long.toString(p.sequence()), text(p.lot()),
                text(p.trigger()), text(p.modelId()), text(p.verdict()), text(p.reported()), text(p.label()),
                p.score() == null || !Double.isFinite(p.score()) ? "" : p.score().toString(),
                r == null ? "" : Integer.toString(r.x()), r == null ? "" : Integer.toString(r.y()),
                r == null ? "" : Integer.toString(r.width()), r == null ? "" : Integer.toString(r.height()),
                text(p.imageSha256()), text(p.sampleId()), text(p.error()), Long.toString(p.processingMs())));
    }

    /**
     * A shift report as one table: a {@code total} row (parts, ok, ng, ngRate, late), an {@code hour} row per hour
     * (key: the hour's start, ISO-8601 UTC), a {@code verdict} row per verdict (count), a {@code defect} row per top
     * defect type (count, share of the NG parts) and an {@code error} row per error code (count).
     */
    public static String report(ShiftReport.Result r) {
        StringBuilder out = new StringBuilder();
        out.append(string(REPORT_COLUMNS.stream().map(PartCsv::text).toList()));
        ShiftReport.Totals t = r.totals();
        out.append(string(List.of("total", "", n(t.parts()), n(t.ok()), n(t.ng()), ratio(t.ngRate()),
                n(r.deadlineMisses()), "", "")));
        for (ShiftReport.Hour h : r.hours()) {
            out.append(string(List.of("hour", text(h.hour().toString()), n(h.parts()), n(h.ok()), n(h.ng()),
                    ratio(h.ngRate()), n(h.late()), "", "")));
        }
        for (Map.Entry<String, Long> v : r.verdicts().entrySet()) {
            out.append(string(List.of("verdict", text(v.getKey()), "", "", "", "", "", n(v.getValue()), "")));
        }
        for (ShiftReport.Count d : r.topDefects()) {
            out.append(string(List.of("defect", text(d.label()), "", "", "", "", "", n(d.count()),
                    ratio(d.share()))));
        }
        for (Map.Entry<String, Long> e : r.errors().entrySet()) {
            out.append(string(List.of("error", text(e.getKey()), "", "", "", "", "", n(e.getValue()), "")));
        }
        return out.toString();
    }

    private static String n(long v) {
        return Long.toString(v);
    }

    private static String ratio(Double v) {
        return v == null ? "" : String.format(Locale.ROOT, "%.4f", v);
    }

    /** A text field: guarded against formulas, quoted when it must be; null is empty. */
    public static String text(String s) {
        if (s == null || s.isEmpty()) {
            return "";
        }
        char c = s.charAt(0);
        if (c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r') {
            s = "'" + s;
        }
        if (s.indexOf(',') >= 0 || s.indexOf('"') >= 0 || s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0) {
            return '"' + s.replace("\"", "\"\"") + '"';
        }
        return s;
    }

    private static String string(List<String> fields) {
        return String.join(",", fields) + "\r\n";
    }

    private static byte[] line(List<String> fields) {
        return string(new ArrayList<>(fields)).getBytes(StandardCharsets.UTF_8);
    }
}
