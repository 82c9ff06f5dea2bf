package dev.vigil.app.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;

/**
 * axe-core (npm, installed into {@code src/test/node} by {@code scripts/test.sh}) run in the page a WebDriver shows:
 * the accessibility rules of WCAG 2.x A and AA and axe's best practices. Missing axe-core skips the test with the
 * reason, or fails it under {@code CI=true}.
 */
public final class Axe {
    private static final Path SCRIPT = Path.of("src/test/node/node_modules/axe-core/axe.min.js").toAbsolutePath();

    private Axe() {}

    /** Skips (or under CI fails) the calling test when axe-core is not installed. */
    public static void requireInstalled() {
        if (!Files.isRegularFile(SCRIPT)) {
            String why = "axe-core is not installed (" + SCRIPT + "): run `npm ci` in app/src/test/node"
                    + " (scripts/test.sh does)";
            if ("true".equals(System.getenv("CI"))) {
                fail(why + " and CI=true: the accessibility test must not be skipped");
            }
            assumeTrue(false, why + ": accessibility test skipped");
        }
    }

    /** One rule broken: its id, impact, help text and (up to five of) the elements that break it. */
    public record Violation(String rule, String impact, String help, List<String> targets) {
        @Override
        public String toString() {
            return impact + " " + rule + " (" + help + "): " + targets;
        }
    }

    /** The violations of impact serious or critical on the page as it is now (hidden elements are not checked). */
    public static List<Violation> seriousOrCritical(WebDriver web) throws Exception {
        requireInstalled();
        JavascriptExecutor js = (JavascriptExecutor) web;
        if (!Boolean.TRUE.equals(js.executeScript("return typeof window.axe === 'object'"))) {
            js.executeScript(Files.readString(SCRIPT));
        }
        Object out = js.executeAsyncScript("const done = arguments[arguments.length - 1];"
                + "axe.run(document, {resultTypes: ['violations']}).then(r => done(JSON.stringify(r.violations)))"
                + ".catch(e => done('ERROR ' + e));");
        String json = String.valueOf(out);
        if (json.startsWith("ERROR")) {
            throw new AssertionError("axe-core failed in the page: " + json);
        }
        List<Violation> found = new ArrayList<>();
        for (JsonNode v : new ObjectMapper().readTree(json)) {
            String impact = v.path("impact").asText();
            if (!impact.equals("serious") && !impact.equals("critical")) {
                continue;
            }
            List<String> targets = new ArrayList<>();
            for (JsonNode n : v.path("nodes")) {
                if (targets.size() < 5) {
                    targets.add(n.path("target").toString() + " " + n.path("failureSummary").asText()
                            .replace('\n', ' '));
                }
            }
            found.add(new Violation(v.path("id").asText(), impact, v.path("help").asText(), targets));
        }
        return found;
    }
}
