package dev.vigil.trainer.data;

import dev.vigil.core.VigilException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Labels for several heads on one backbone (multi-task learning, {@code --labels FILE.csv}): a header
 * {@code file,<head>,<head>...} and one row per image. {@code file} is absolute or relative to the CSV's folder; an
 * empty cell means the image's class is unknown for that head (it is left out of that head's loss). Each head's
 * classes are the distinct values in its column, in name order.
 *
 * <p>Bad input is refused with one line naming the file, the line and what to do: a header without {@code file}
 * first, a repeated head, a row of the wrong width, a missing image, an image listed twice, a head with fewer than
 * two classes.
 *
 * @param heads the head names, in column order
 * @param classes each head's classes, in name order
 * @param rows the images and their class index per head (-1 = unknown)
 */
public record LabelTable(Path csv, List<String> heads, List<List<String>> classes, List<Row> rows) {
    public LabelTable {
        heads = List.copyOf(heads);
        classes = classes.stream().map(List::copyOf).toList();
        rows = List.copyOf(rows);
    }

    /** One image: its file and its class index per head, -1 where unknown. */
    public record Row(Path file, int[] labels) {}

    public static LabelTable read(Path csv) {
        List<String> lines;
        try {
            lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new VigilException("--labels " + csv + " cannot be read (" + e.getMessage() + "); give a CSV file"
                    + " with the header file,<head>,<head>...");
        }
        String where = csv.getFileName().toString();
        if (lines.isEmpty() || lines.get(0).isBlank()) {
            throw new VigilException(where + " is empty; its first line must be the header file,<head>,<head>...,"
                    + " e.g. file,product,verdict");
        }
        List<String> header = cells(lines.get(0).replace("\uFEFF", ""), where, 1);
        if (!header.get(0).trim().equals("file") || header.size() < 2) {
            throw new VigilException(where + " line 1: the header must be file followed by one column per head,"
                    + " e.g. file,product,verdict; found '" + lines.get(0) + "'");
        }
        List<String> heads = new ArrayList<>();
        for (int i = 1; i < header.size(); i++) {
            String h = header.get(i).trim();
            if (!h.matches("[A-Za-z0-9_-]{1,64}")) {
                throw new VigilException(where + " line 1: head name '" + h + "' must be 1-64 letters, digits, '-'"
                        + " or '_' (it names an output of the model)");
            }
            if (heads.contains(h)) {
                throw new VigilException(where + " line 1: head '" + h + "' appears twice; name each head once");
            }
            heads.add(h);
        }
        Path base = csv.toAbsolutePath().getParent();
        List<String[]> values = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        Map<Path, Integer> seen = new HashMap<>();
        for (int n = 2; n <= lines.size(); n++) {
            String line = lines.get(n - 1);
            if (line.isBlank()) {
                continue;
            }
            List<String> c = cells(line, where, n);
            if (c.size() != header.size()) {
                throw new VigilException(where + " line " + n + ": " + c.size() + " cells where the header has "
                        + header.size() + " (file and " + heads.size() + " head" + (heads.size() == 1 ? "" : "s")
                        + "); leave a cell empty for an unknown class, but keep its comma");
            }
            String name = c.get(0).trim();
            if (name.isEmpty()) {
                throw new VigilException(where + " line " + n + ": the file cell is empty; give the image's path");
            }
            Path file = base.resolve(name).normalize();
            if (!Files.isRegularFile(file)) {
                throw new VigilException(where + " line " + n + ": file '" + name + "' (" + file + ") does not"
                        + " exist; fix the path (absolute, or relative to " + base + ")");
            }
            Integer before = seen.putIfAbsent(file, n);
            if (before != null) {
                throw new VigilException(where + " line " + n + ": '" + name + "' is listed twice (lines " + before
                        + " and " + n + "); give each image one row, with a class per head");
            }
            files.add(file);
            String[] v = new String[heads.size()];
            for (int h = 0; h < heads.size(); h++) {
                String cell = c.get(h + 1).trim();
                v[h] = cell.isEmpty() ? null : cell;
            }
            values.add(v);
        }
        if (files.isEmpty()) {
            throw new VigilException(where + " has a header but no images; add one row per image");
        }
        List<List<String>> classes = new ArrayList<>();
        for (int h = 0; h < heads.size(); h++) {
            TreeSet<String> set = new TreeSet<>();
            for (String[] v : values) {
                if (v[h] != null) {
                    set.add(v[h]);
                }
            }
            if (set.size() < 2) {
                throw new VigilException("head '" + heads.get(h) + "' in " + where + " has " + (set.isEmpty()
                        ? "no labelled image" : "only one class ('" + set.first() + "')") + "; a head needs at least"
                        + " two classes: label images of another class, or drop the column");
            }
            classes.add(new ArrayList<>(set));
        }
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            int[] labels = new int[heads.size()];
            for (int h = 0; h < heads.size(); h++) {
                String v = values.get(i)[h];
                labels[h] = v == null ? -1 : classes.get(h).indexOf(v);
            }
            rows.add(new Row(files.get(i), labels));
        }
        return new LabelTable(csv, heads, classes, rows);
    }

    /** The cells of one CSV line: commas separate, double quotes enclose a cell and {@code ""} is a quote in it. */
    static List<String> cells(String line, String where, int n) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char ch = line.charAt(i);
            if (quoted) {
                if (ch == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else if (ch == '"') {
                    quoted = false;
                } else {
                    cur.append(ch);
                }
            } else if (ch == '"') {
                quoted = true;
            } else if (ch == ',') {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(ch);
            }
        }
        if (quoted) {
            throw new VigilException(where + " line " + n + ": a quote is opened and never closed");
        }
        out.add(cur.toString());
        return out;
    }

    /** Images labelled for head {@code h}. */
    public long labelled(int h) {
        return rows.stream().filter(r -> r.labels()[h] >= 0).count();
    }
}
