package dev.vigil.app.line;

import static dev.vigil.app.line.PartStoreTest.part;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The shift report's numbers on synthetic records. */
class ShiftReportTest {
    private static final Instant SHIFT = Instant.parse("2026-12-03T06:00:00Z");

    @Test
    void totalsVerdictsTopDefectsLateErrorsAndHours() {
        ShiftReport r = new ShiftReport(SHIFT, SHIFT.plusSeconds(3 * 3600), ZoneOffset.UTC);
        // 06:xx: 6 parts: 3 ok, 2 scratch, 1 late
        r.add(part(SHIFT.plusSeconds(10), "cam1", 1, "L-1", "ok", "ok"));
        r.add(part(SHIFT.plusSeconds(20), "cam1", 2, "L-1", "ok", "ok"));
        r.add(part(SHIFT.plusSeconds(30), "cam1", 3, "L-1", "ok", "ok"));
        r.add(part(SHIFT.plusSeconds(40), "cam1", 4, "L-1", "defect", "scratch"));
        r.add(part(SHIFT.plusSeconds(50), "cam1", 5, "L-1", "defect", "scratch"));
        r.add(part(SHIFT.plusSeconds(60), "cam1", 6, "L-1", "late", null));
        // 07:xx: none. 08:xx: 4 parts: 1 ok, 1 dent, 1 uncertain (its label "ok" is no defect type), 1 scratch
        r.add(part(SHIFT.plusSeconds(7200), "cam2", 7, "L-1", "ok", "ok"));
        r.add(part(SHIFT.plusSeconds(7210), "cam2", 8, "L-1", "defect", "dent"));
        r.add(part(SHIFT.plusSeconds(7220), "cam2", 9, "L-1", "uncertain", "ok"));
        r.add(part(SHIFT.plusSeconds(7599), "cam2", 10, "L-1", "defect", "scratch"));
        ShiftReport.Result res = r.result("L-1", null);

        assertEquals(new ShiftReport.Totals(10, 4, 6, 0.6), res.totals());
        assertEquals(Map.of("ok", 4L, "defect", 4L, "uncertain", 1L, "unclassified", 0L, "late", 1L),
                res.verdicts());
        assertEquals(List.of("ok", "defect", "uncertain", "unclassified", "late"), List.copyOf(res.verdicts()
                .keySet()), "every verdict, in the record's order");
        assertEquals(List.of(new ShiftReport.Count("scratch", 3, 0.5), new ShiftReport.Count("dent", 1, 0.1667)),
                res.topDefects());
        assertEquals(1, res.deadlineMisses());
        assertEquals(Map.of("late", 1L), res.errors());
        assertEquals(List.of(
                new ShiftReport.Hour(SHIFT, 6, 3, 3, 0.5, 1),
                new ShiftReport.Hour(SHIFT.plusSeconds(3600), 0, 0, 0, null, 0),
                new ShiftReport.Hour(SHIFT.plusSeconds(7200), 4, 1, 3, 0.75, 0)), res.hours());
        assertEquals("L-1", res.lot());
        assertNull(res.camera());
        assertEquals("Z", res.zone());
    }

    @Test
    void noPartsGiveZerosAndNoRateAndEveryHourOfTheRange() {
        ShiftReport.Result res = new ShiftReport(SHIFT.plusSeconds(1800), SHIFT.plusSeconds(1800 + 8 * 3600),
                ZoneOffset.UTC).result(null, "cam1");
        assertEquals(new ShiftReport.Totals(0, 0, 0, null), res.totals());
        assertEquals(List.of(), res.topDefects());
        assertEquals(Map.of(), res.errors());
        // 06:30 to 14:30: the hours 06:00 ... 14:00 (the first and last partly)
        assertEquals(9, res.hours().size());
        assertEquals(SHIFT, res.hours().get(0).hour());
        assertEquals(SHIFT.plusSeconds(8 * 3600), res.hours().get(8).hour());
        assertTrue(res.hours().stream().allMatch(h -> h.parts() == 0 && h.ngRate() == null));
    }

    @Test
    void onlyTheTopTenDefectTypesMostFrequentFirstTiesByName() {
        ShiftReport r = new ShiftReport(SHIFT, SHIFT.plusSeconds(3600), ZoneOffset.UTC);
        int seq = 0;
        for (int type = 0; type < 12; type++) {
            for (int k = 0; k <= type % 4; k++) { // counts 1,2,3,4,1,2,3,4,...
                r.add(part(SHIFT.plusSeconds(seq), "cam1", seq++, null, "defect", "type" + (char) ('a' + type)));
            }
        }
        List<ShiftReport.Count> top = r.result(null, null).topDefects();
        assertEquals(10, top.size());
        assertEquals(List.of("typed", "typeh", "typel", "typec", "typeg", "typek", "typeb", "typef", "typej",
                "typea"), top.stream().map(ShiftReport.Count::label).toList());
        assertEquals(4, top.get(0).count());
    }

    /** Hours begin on the hour of the report's zone: India is UTC+05:30, so its hours start at :30 UTC. */
    @Test
    void hoursFollowTheZoneIncludingHalfHourOffsetsAndClockChanges() {
        ShiftReport india = new ShiftReport(SHIFT, SHIFT.plusSeconds(2 * 3600), ZoneId.of("Asia/Kolkata"));
        india.add(part(SHIFT.plusSeconds(1700), "cam1", 1, null, "ok", "ok"));   // 06:28 UTC = 11:58 IST
        india.add(part(SHIFT.plusSeconds(1900), "cam1", 2, null, "ok", "ok"));   // 06:31 UTC = 12:01 IST
        List<ShiftReport.Hour> hours = india.result(null, null).hours();
        assertEquals(List.of(Instant.parse("2026-12-03T05:30:00Z"), Instant.parse("2026-12-03T06:30:00Z"),
                Instant.parse("2026-12-03T07:30:00Z")), hours.stream().map(ShiftReport.Hour::hour).toList());
        assertEquals(List.of(1L, 1L, 0L), hours.stream().map(ShiftReport.Hour::parts).toList());

        // the night the clocks go back in Berlin has 25 hours
        Instant from = Instant.parse("2026-10-24T22:00:00Z"); // 00:00 CEST
        Instant to = Instant.parse("2026-10-25T23:00:00Z");   // 00:00 CET the next night
        assertEquals(25, new ShiftReport(from, to, ZoneId.of("Europe/Berlin")).result(null, null).hours().size());
    }

    @Test
    void aLongRangeListsOnlyTheHoursWithParts() {
        ShiftReport r = new ShiftReport(SHIFT, SHIFT.plusSeconds(3600L * (ShiftReport.ALL_HOURS + 1)),
                ZoneOffset.UTC);
        r.add(part(SHIFT.plusSeconds(3600L * 100 + 5), "cam1", 1, null, "defect", "scratch"));
        List<ShiftReport.Hour> hours = r.result(null, null).hours();
        assertEquals(List.of(new ShiftReport.Hour(SHIFT.plusSeconds(3600L * 100), 1, 0, 1, 1.0, 0)), hours);
    }

    @Test
    void theCsvIsOneTableWithASectionColumnAndQuotesWhatItMust() {
        ShiftReport r = new ShiftReport(SHIFT, SHIFT.plusSeconds(3600), ZoneOffset.UTC);
        r.add(part(SHIFT.plusSeconds(1), "cam1", 1, null, "defect", "crack, deep"));
        r.add(part(SHIFT.plusSeconds(2), "cam1", 2, null, "defect", "=HYPERLINK(\"x\")"));
        r.add(part(SHIFT.plusSeconds(3), "cam1", 3, null, "ok", "ok"));
        String csv = PartCsv.report(r.result(null, null));
        List<String> lines = List.of(csv.split("\r\n"));
        assertEquals("section,key,parts,ok,ng,ngRate,late,count,share", lines.get(0));
        assertEquals("total,,3,1,2,0.6667,0,,", lines.get(1));
        assertEquals("hour,2026-12-03T06:00:00Z,3,1,2,0.6667,0,,", lines.get(2));
        assertTrue(lines.contains("verdict,defect,,,,,,2,"), csv);
        assertTrue(lines.contains("defect,\"crack, deep\",,,,,,1,0.5000"), csv);
        assertTrue(lines.contains("defect,\"'=HYPERLINK(\"\"x\"\")\",,,,,,1,0.5000"), csv);
        assertTrue(csv.endsWith("\r\n"));
    }
}
