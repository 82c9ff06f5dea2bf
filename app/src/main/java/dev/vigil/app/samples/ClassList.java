package dev.vigil.app.samples;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.trainer.VigilException;
import dev.vigil.trainer.util.AtomicFiles;
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

    public ClassList(Path file, List<String> initial) {
        this.file = file;
        try {
            if (Files.exists(file)) {
                classes.addAll(JSON.readValue(file.toFile(), new TypeReference<List<String>>() {}));
            } else {
                classes.addAll(initial);
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
        if (classes.contains(name)) {
            return false;
        }
        classes.add(name);
        AtomicFiles.write(file, JSON.writeValueAsBytes(classes));
        return true;
    }
}
