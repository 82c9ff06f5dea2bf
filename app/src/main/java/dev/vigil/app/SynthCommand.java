package dev.vigil.app;

import dev.vigil.app.capture.SyntheticSource;
import dev.vigil.core.VigilException;
import dev.vigil.core.AtomicFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vigil synth}: a labelled dataset from the simulated production line (the synthetic camera), one folder per
 * class ({@code ok}, {@code defect}) — enough to train a demonstration model on a machine with no camera and no data.
 */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = "Write labelled frames of the synthetic production line: OUT/ok/*.png and OUT/defect/*.png.")
public final class SynthCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "dataset folder to create")
    Path out;

    @Option(names = "--count", description = "frames to render (default ${DEFAULT-VALUE})")
    int count = 200;

    @Option(names = "--defect-rate", description = "share of defective parts (default ${DEFAULT-VALUE})")
    double defectRate = 0.5;

    @Option(names = "--size", description = "frame width and height in pixels (default ${DEFAULT-VALUE})")
    int size = 320;

    @Option(names = "--seed", description = "random seed: it also makes the line's casting and belt, so a camera"
            + " with the same seed shows the same line (default ${DEFAULT-VALUE})")
    long seed = 7;

    @Option(names = "--from", description = "index of the first frame: frames of the line a camera with the same seed"
            + " will not show for a long time (default ${DEFAULT-VALUE})")
    long from = 0;

    @Override
    public Integer call() throws Exception {
        if (count < 2 || count > 100_000) {
            throw new VigilException("--count must be between 2 and 100000, found " + count);
        }
        if (Files.exists(out) && Files.list(out).findAny().isPresent()) {
            throw new VigilException("--out " + out + " is not empty; choose a new folder");
        }
        int ok = 0;
        int defect = 0;
        try (SyntheticSource s = new SyntheticSource(size, size, defectRate, seed)) {
            s.open();
            s.skipTo(from);
            for (int i = 0; i < count; i++) {
                Mat m = s.read();
                boolean bad = s.lastDefect() != SyntheticSource.Defect.NONE;
                MatOfByte png = new MatOfByte();
                Imgcodecs.imencode(".png", m, png);
                String name = String.format(Locale.ROOT, "%05d-%s.png", i,
                        s.lastDefect().name().toLowerCase(Locale.ROOT));
                AtomicFiles.write(out.resolve(bad ? "defect" : "ok").resolve(name), png.toArray());
                png.release();
                m.release();
                if (bad) {
                    defect++;
                } else {
                    ok++;
                }
            }
        }
        System.out.printf(Locale.ROOT, "wrote %d frames to %s: %d ok, %d defect%n", count, out, ok, defect);
        return 0;
    }
}
