package dev.vigil.app.samples;

import dev.vigil.core.model.Manifest;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.core.VigilException;
import dev.vigil.core.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The classes an operator can label with ({@code <storage.dir>/classes.json}, replaced atomically). Each name is also
 * the trainer's folder name for that class, so names are restricted to what is safe as a folder. The list starts
 * with the model's labels (or {@code ok}, {@code defect}) and grows when the operator adds a new defect type.
 */
public final class ClassList {
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final List<String> classes = new ArrayList<>();

    /**
     * @param initial the model's labels: {@value Manifest#ANOMALY_LABEL} is left out (it is what a memory of good
     *     parts calls a part unlike them, not a defect type to label with), and a model that knows only the good
     *     class starts the list with {@code defect} beside it
     */
    public ClassList(Path file, List<String> initial) {
        this.file = file;
        try {
            if (Files.exists(file)) {
                classes.addAll(JSON.readValue(file.toFile(), new TypeReference<List<String>>() {}));
            } else {
                initial.stream().filter(c -> !c.equals(Manifest.ANOMALY_LABEL)).forEach(classes::add);
                if (classes.size() < 2) {
                    classes.add("defect");
                }
            }
        } catch (IOException e) {
            throw new VigilException("class list " + file + " cannot be read (" + e.getMessage()
                    + "); restore it or move it aside to start from the model's labels");
        }
    }

    public synchronized List<String> list() {
        return List.copyOf(classes);
    }

    public synchronized boolean contains(String name) {
        return classes.contains(name);
    }

    /** Adds a class (a new defect type); returns false when it was there already. */
    public synchronized boolean add(String name) throws IOException {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new VigilException("class name '" + name + "' must be 1-64 characters: lower-case letters, digits,"
                    + " '_' or '-', starting with a letter or digit (it becomes a folder of the training data)");
        }
        if (Manifest.ANOMALY_LABEL.equals(name)) {
            throw new VigilException("class name '" + name + "' is what a model with a memory of good parts calls a"
                    + " part unlike the good ones; name the defect type you see (e.g. crack, dent, foreign-object)");
        }
        if (classes.contains(name)) {
            return false;
        }
        classes.add(name);
        AtomicFiles.write(file, JSON.writeValueAsBytes(classes));
        return true;
    }
}
