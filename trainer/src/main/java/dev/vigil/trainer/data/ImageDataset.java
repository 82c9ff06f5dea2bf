package dev.vigil.trainer.data;

import dev.vigil.core.VigilException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A labelled image dataset laid out as one folder per class: {@code root/<class>/<image>}. Classes are the folder
 * names in sorted order. Files that are not images by their extension are ignored and counted.
 */
public record ImageDataset(Path root, List<String> classes, List<LabelledImage> images, int ignoredFiles) {
    public static final Set<String> IMAGE_EXTENSIONS = Set.of("jpg", "jpeg", "png", "bmp", "tif", "tiff", "webp",
            "pgm", "ppm");

    public ImageDataset {
        classes = List.copyOf(classes);
        images = List.copyOf(images);
    }

    /**
     * Scans {@code root}.
     *
     * @param minPerClass the fewest images a class may have (training needs 2: one to train, one to validate)
     */
    public static ImageDataset scan(Path root, int minPerClass) {
        if (!Files.exists(root)) {
            throw new VigilException("dataset folder " + root + " does not exist; give a folder with one sub-folder"
                    + " of images per class");
        }
        if (!Files.isDirectory(root)) {
            throw new VigilException("dataset " + root + " is a file, not a folder; give a folder with one"
                    + " sub-folder of images per class");
        }
        List<Path> classDirs;
        try (Stream<Path> s = Files.list(root)) {
            classDirs = s.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted().toList();
        } catch (IOException e) {
            throw new VigilException("cannot list dataset folder " + root + ": " + e.getMessage());
        }
        List<String> classes = new ArrayList<>();
        List<LabelledImage> images = new ArrayList<>();
        int ignored = 0;
        for (Path dir : classDirs) {
            List<Path> files;
            try (Stream<Path> s = Files.list(dir)) {
                files = s.filter(Files::isRegularFile).sorted().toList();
            } catch (IOException e) {
                throw new VigilException("cannot list class folder " + dir + ": " + e.getMessage());
            }
            List<Path> imgs = files.stream().filter(ImageDataset::isImageName).toList();
            ignored += files.size() - imgs.size();
            if (imgs.isEmpty()) {
                continue;
            }
            if (imgs.size() < minPerClass) {
                throw new VigilException("class '" + dir.getFileName() + "' (" + dir + ") has only " + imgs.size()
                        + " image" + (imgs.size() == 1 ? "" : "s") + "; each class needs at least " + minPerClass
                        + " (one to train, one to validate): add images or remove the folder");
            }
            int label = classes.size();
            classes.add(dir.getFileName().toString());
            imgs.forEach(p -> images.add(new LabelledImage(p, label)));
        }
        if (classes.isEmpty()) {
            throw new VigilException("dataset folder " + root + " holds no class folders with images; expected "
                    + root + "/<class>/<image>.jpg (" + String.join(", ", IMAGE_EXTENSIONS) + ")");
        }
        return new ImageDataset(root, classes, images, ignored);
    }

    public static boolean isImageName(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = n.lastIndexOf('.');
        return !n.startsWith(".") && dot > 0 && IMAGE_EXTENSIONS.contains(n.substring(dot + 1));
    }

    public int[] countsPerClass() {
        int[] c = new int[classes.size()];
        images.forEach(i -> c[i.label()]++);
        return c;
    }

    /** Folder names that mean "good part" when no {@code --ok-label} is given, in order of preference. */
    public static final List<String> OK_NAMES = List.of("ok", "good", "pass", "normal");

    /** Whether {@code name} is one of {@link #OK_NAMES}. */
    public static boolean isOkName(String name) {
        return OK_NAMES.contains(name);
    }

    /** The index of the class that means "good part", if there is one named ok/good/pass/normal. */
    public int okIndex(String okLabel) {
        if (okLabel != null) {
            int i = classes.indexOf(okLabel);
            if (i < 0) {
                throw new VigilException("--ok-label '" + okLabel + "' is not a class of " + root + "; classes are "
                        + classes);
            }
            return i;
        }
        for (String guess : OK_NAMES) {
            int i = classes.indexOf(guess);
            if (i >= 0) {
                return i;
            }
        }
        return -1;
    }

    /** A stratified split: about {@code fraction} of each class (at least one image) goes to the second list. */
    public static List<List<LabelledImage>> stratifiedSplit(List<LabelledImage> items, int classCount,
            double fraction, long seed) {
        List<LabelledImage> first = new ArrayList<>();
        List<LabelledImage> second = new ArrayList<>();
        Random rnd = new Random(seed);
        for (int c = 0; c < classCount; c++) {
            final int cls = c;
            List<LabelledImage> of = new ArrayList<>(items.stream().filter(i -> i.label() == cls).toList());
            Collections.shuffle(of, rnd);
            int n = of.isEmpty() ? 0 : Math.max(1, (int) Math.round(of.size() * fraction));
            n = Math.min(n, of.size() - 1);
            second.addAll(of.subList(0, Math.max(n, 0)));
            first.addAll(of.subList(Math.max(n, 0), of.size()));
        }
        return List.of(first, second);
    }
}
