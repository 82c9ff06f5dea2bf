package dev.vigil.trainer.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.core.image.Preprocessing;
import dev.vigil.core.image.OpenCv;
import dev.vigil.trainer.model.MapModels;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Point;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;
import picocli.CommandLine;

/** {@code vigil classify --heatmap}: overlay PNGs and where the defect is in the JSON, with a fixture package. */
class ClassifyHeatmapTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    private record Run(int code, String out, String err) {}

    private static Run classify(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = Cli.configure(new CommandLine(new ClassifyCommand()), args);
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** A dark 320x120 frame, with a white spot over frame x 190..250, y 15..65 when {@code spot}. */
    private Path frame(String name, boolean spot) {
        OpenCv.load();
        Mat m = new Mat(120, 320, CvType.CV_8UC3, new Scalar(30, 30, 30));
        if (spot) {
            Imgproc.rectangle(m, new Point(190, 15), new Point(250, 65), new Scalar(255, 255, 255), -1);
        }
        Path f = tmp.resolve("frames").resolve(name);
        f.getParent().toFile().mkdirs();
        Imgcodecs.imwrite(f.toString(), m);
        m.release();
        return f;
    }

    @Test
    void heatmapsAreWrittenPerImageAndEachLineSaysWhereTheDefectIs() throws Exception {
        Path pkg = MapModels.write(tmp.resolve("pkg"), "map-cli", 64, 48, Preprocessing.Fit.LETTERBOX, 8, true).dir();
        Path spot = frame("spot.png", true);
        Path plain = frame("plain.png", false);
        Path out = tmp.resolve("heat");
        Run r = classify("--model", pkg.toString(), "--heatmap", out.toString(), spot.toString(), plain.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().strip().lines().toList();
        assertEquals(2, lines.size(), r.out());

        JsonNode a = JSON.readTree(lines.get(0));
        assertEquals("defect", a.get("verdict").asText());
        assertEquals("defective", a.get("label").asText());
        JsonNode region = a.get("region");
        assertEquals(200, region.get("x").asInt());
        assertEquals(20, region.get("y").asInt());
        assertEquals(40, region.get("width").asInt());
        assertEquals(40, region.get("height").asInt());
        assertEquals(4, region.size(), "x, y, width, height and nothing else: " + region);
        assertEquals(220, a.get("peak").get("x").asInt());
        assertEquals(40, a.get("peak").get("y").asInt());
        assertTrue(a.get("peak").get("score").asDouble() > 0.9);
        assertEquals(out.resolve("spot.png.heatmap.png").toString(), a.get("heatmap").asText());

        JsonNode b = JSON.readTree(lines.get(1));
        assertEquals("ok", b.get("verdict").asText());
        assertTrue(b.get("peak").get("score").asDouble() < 0.05);

        for (String name : List.of("spot.png.heatmap.png", "plain.png.heatmap.png")) {
            Mat png = Imgcodecs.imread(out.resolve(name).toString());
            assertEquals(320, png.cols(), name + " has the image's size");
            assertEquals(120, png.rows());
            png.release();
        }
        Path shots = Files.createDirectories(Path.of("target", "screenshots"));
        Files.copy(out.resolve("spot.png.heatmap.png"), shots.resolve("classify-heatmap.png"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try (var files = Files.list(out)) {
            assertEquals(2, files.count(), "no temporary files left behind");
        }
    }

    @Test
    void aModelWithoutAMapIsRefusedForHeatmapsInOneLineAndNothingIsWritten() throws Exception {
        Path pkg = MapModels.write(tmp.resolve("old"), "old-cli", 64, 48, Preprocessing.Fit.LETTERBOX, 8, false).dir();
        Path out = tmp.resolve("heat");
        Run r = classify("--model", pkg.toString(), "--heatmap", out.toString(), frame("spot.png", true).toString());
        assertEquals(1, r.code());
        assertEquals("vigil classify: model old-cli (" + pkg + ") has no defect map: retrain it with this Vigil"
                + " version to use --heatmap", r.err().strip());
        assertEquals("", r.out());
        assertFalse(Files.exists(out), "nothing written");

        // without --heatmap the old package classifies as before, with no peak or region
        Run plain = classify("--model", pkg.toString(), frame("spot.png", true).toString());
        assertEquals(0, plain.code(), plain.err());
        JsonNode line = JSON.readTree(plain.out().strip());
        assertEquals("defect", line.get("verdict").asText());
        assertFalse(line.has("region"));
        assertFalse(line.has("peak"));
    }
}
