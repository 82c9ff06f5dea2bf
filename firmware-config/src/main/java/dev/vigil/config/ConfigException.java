package dev.vigil.config;

import java.util.List;

/** A configuration that cannot be used: every problem with its key path, the bad value and the rule. */
public final class ConfigException extends dev.vigil.core.VigilException {
    private static final long serialVersionUID = 1L;
    private final transient List<String> problems;

    public ConfigException(String source, List<String> problems) {
        super(source + ": " + (problems.size() == 1 ? problems.get(0)
                : problems.size() + " problems:\n  " + String.join("\n  ", problems)));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
