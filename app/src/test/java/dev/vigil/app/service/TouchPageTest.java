package dev.vigil.app.service;

import static dev.vigil.app.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.testing.Axe;
import dev.vigil.app.testing.TestConfig;
import dev.vigil.app.testing.TestModels;
import dev.vigil.config.DeviceConfig;
import dev.vigil.trainer.SharedAssets;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.interactions.PointerInput;
import org.openqa.selenium.interactions.Sequence;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The operator page as a tablet at the line uses it, in headless Chromium at a phone's, a tablet's and a desktop's
 * size: big buttons for every action (each class, skip, undo, delete), a tenth class labelled through the class
 * filter, swipes in the grid, tiles selected with the keyboard, the models view's "have I labelled enough?" figures,
 * and axe-core over the login, label, grid, review, models and parts views with no serious or critical violation.
 * Screenshots of each view at each size land in {@code target/screenshots/}.
 */
class TouchPageTest {
    /** Phone (upright), tablet (upright) and desktop. */
    private static final Map<String, Dimension> VIEWPORTS = new LinkedHashMap<>();

    static {
        VIEWPORTS.put("phone", new Dimension(390, 844));
        VIEWPORTS.put("tablet", new Dimension(768, 1024));
        VIEWPORTS.put("desktop", new Dimension(1366, 900));
    }

    /** The eight classes added from the page to the model's two: the tenth has no key and no room without the filter. */
    private static final List<String> NEW_CLASSES = List.of("porosity", "crack", "burr", "flash", "cold-shut",
            "inclusion", "misrun", "blowhole");

    @TempDir
    Path tmp;

    @Test
    void anOperatorLabelsByTouchAtThreeSizesAndEveryViewPassesAxe() throws Exception {
        Axe.requireInstalled();
        dev.vigil.app.inference.LoadedModel.initEngine();
        Path casting = SharedAssets.casting();
        // cross-validated (3 folds): the package has out-of-fold per-class figures and a learning curve
        Path model = TestModels.casting(tmp, "model", 0, 12, 4, 42, 3);
        Path frames = tmp.resolve("frames");
        ApiClient.writeFrames(frames, 2, 96, 96);
        Path data = tmp.resolve("data");
        new AccountStore(data.resolve("accounts.json")).put("ada", AccountStore.Role.ADMIN,
                "line two admin".toCharArray());
        DeviceConfig c = TestConfig.device("line7")
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(frames.toString(), 4,
                        false), null, null)))
                .model(new DeviceConfig.ModelSettings(model.toString(), false))
                .offline()
                .storage(new DeviceConfig.Storage(data.toString(), null, null, 1.0, 1000, null))
                .build();
        ApplicationContext ctx = ServeCommand.start(c);
        WebDriver web = LabellingPageTest.chrome(tmp.resolve("chrome-profile"));
        Path shots = Path.of("target", "screenshots");
        Files.createDirectories(shots);
        List<String> violations = new ArrayList<>();
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            await(() -> p.samples().count() == 2, Duration.ofSeconds(30), "the camera's two frames flagged");
            List<String> live = p.samples().list(null, 10).stream().map(dev.vigil.app.samples.Sample::id).toList();
            // and 28 casting test images, stored as audited ok frames a day old: more than one grid screen (24 tiles),
            // queued after the camera's two (the queue: most uncertain verdict first, newest first within)
            List<Path> images;
            try (java.util.stream.Stream<Path> st = Files.walk(casting.resolve("test"))) {
                images = st.filter(f -> f.toString().endsWith(".jpeg")).sorted().toList();
            }
            java.time.Instant t0 = java.time.Instant.now().minus(Duration.ofDays(1));
            for (int i = 0; i < 28; i++) {
                Path img = images.get(i * (images.size() / 28));
                boolean defective = img.getParent().getFileName().toString().startsWith("def");
                p.samples().add("cam1", t0.minusSeconds(i), Files.readAllBytes(img), "audit",
                        p.model().id(), "ok", defective ? "defective" : "ok", 0.8,
                        List.of("defective", "ok"), List.of(defective ? 0.8 : 0.2, defective ? 0.2 : 0.8),
                        img.getFileName().toString());
            }
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            WebDriverWait wait = new WebDriverWait(web, Duration.ofSeconds(15));

            // the checker itself finds what it should: an unlabelled input on a page without a language
            web.get("data:text/html,<html><body><input id=x></body></html>");
            List<String> rules = Axe.seriousOrCritical(web).stream().map(Axe.Violation::rule).toList();
            assertTrue(rules.contains("label") && rules.contains("html-has-lang"), rules.toString());

            resize(web, "phone");
            web.get(url + "/");
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("name")));
            check(web, "login", violations);
            LabellingPageTest.logIn(web, wait, url, "ada", "line two admin");
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "30 to label"));

            // eight more classes from the page: ten in all, so the filter box appears; the tenth has no key
            for (String name : NEW_CLASSES) {
                web.findElement(By.id("new-class")).sendKeys(name, Keys.ENTER);
                wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(
                        "#classes button[data-label='" + name + "']")));
            }
            List<WebElement> buttons = web.findElements(By.cssSelector("#classes button"));
            assertEquals(10, buttons.size(), "a button for every class, not only nine");
            assertTrue(web.findElement(By.id("class-filter")).isDisplayed(), "ten classes: the filter is offered");
            shot(web, shots, "phone-label");

            // phone: the tenth class through the filter (type, Enter), the ninth by tapping its button
            String tenth = NEW_CLASSES.get(7);
            String first = imageId(web);
            web.findElement(By.id("class-filter")).sendKeys("blow");
            wait.until(d -> visibleClasses(d).equals(List.of(tenth)));
            web.findElement(By.id("class-filter")).sendKeys(Keys.ENTER);
            wait.until(d -> tenth.equals(p.samples().get(first).orElseThrow().assignedLabel()));
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "29 to label"));
            assertEquals(10, visibleClasses(web).size(), "the filter is cleared after labelling");
            String second = imageId(web);
            // the camera's two frames came first: beside the second, the first (labelled now, embedded by the same
            // model) is among the nearest labelled examples
            assertTrue(live.containsAll(List.of(first, second)), live + " " + first + " " + second);
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector(
                    "#similar-list figure[data-id='" + first + "'][data-label='" + tenth + "']")));
            tap(web, web.findElement(By.cssSelector("#classes button[data-label='inclusion']")));
            wait.until(d -> "inclusion".equals(p.samples().get(second).orElseThrow().assignedLabel()));

            // tablet: skip, undo (of the skip, then of the label) and a two-tap delete with the big buttons
            resize(web, "tablet");
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "28 to label"));
            shot(web, shots, "tablet-label");
            check(web, "label", violations);
            String third = imageId(web);
            tap(web, web.findElement(By.id("skip")));
            wait.until(d -> !third.equals(imageId(d)));
            tap(web, web.findElement(By.id("undo"))); // the skip: the third sample is back
            wait.until(d -> third.equals(imageId(d)));
            tap(web, web.findElement(By.id("undo"))); // the label "inclusion": the second sample is shown again
            wait.until(d -> p.samples().get(second).orElseThrow().assignedLabel() == null);
            wait.until(d -> second.equals(imageId(d)));
            tap(web, web.findElement(By.id("delete")));
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("delete"), "Tap again"));
            assertTrue(p.samples().get(second).isPresent(), "one tap only arms the button");
            tap(web, web.findElement(By.id("delete")));
            wait.until(d -> p.samples().get(second).isEmpty());

            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "28 to label"));
            // the grid (24 tiles a screen): a swipe left shows the next screen of tiles, a swipe right brings it back
            new Actions(web).sendKeys("g").perform();
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("#grid figure")));
            String firstTile = web.findElement(By.cssSelector("#grid figure")).getAttribute("data-id");
            shot(web, shots, "tablet-grid");
            check(web, "grid", violations);
            swipe(web, web.findElement(By.id("grid")), -200);
            wait.until(d -> d.findElements(By.cssSelector("#grid figure[data-id='" + firstTile + "']")).isEmpty());
            assertEquals(4, web.findElements(By.cssSelector("#grid figure")).size(), "the second screen: 28 - 24");
            swipe(web, web.findElement(By.id("grid")), 200);
            wait.until(d -> d.findElements(By.cssSelector("#grid figure")).size() == 24);
            wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(
                    "#grid figure[data-id='" + firstTile + "']")));

            // desktop, keyboard only: Tab to a tile, Space selects it, an arrow moves on, Space again, a key labels both
            resize(web, "desktop");
            ((JavascriptExecutor) web).executeScript("document.querySelector('#grid figure').focus()");
            WebElement focused = web.switchTo().activeElement();
            String a = focused.getAttribute("data-id");
            new Actions(web).sendKeys(Keys.SPACE).sendKeys(Keys.ARROW_RIGHT).sendKeys(Keys.SPACE).perform();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("selected"), "2 selected"));
            String b = web.switchTo().activeElement().getAttribute("data-id");
            assertFalse(a.equals(b), "the arrow moved the focus to the next tile");
            assertEquals("true", web.findElement(By.cssSelector("#grid figure[data-id='" + a + "']"))
                    .getAttribute("aria-selected"));
            new Actions(web).sendKeys("2").perform(); // classes: defective, ok, ...
            wait.until(d -> "ok".equals(p.samples().get(a).orElseThrow().assignedLabel())
                    && "ok".equals(p.samples().get(b).orElseThrow().assignedLabel()));
            shot(web, shots, "desktop-grid");
            new Actions(web).sendKeys("g").perform();

            // review: the labelled queue
            new Select(web.findElement(By.id("queue-kind"))).selectByValue("labelled");
            ((JavascriptExecutor) web).executeScript("document.activeElement.blur()");
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "to review"));
            shot(web, shots, "desktop-review");
            check(web, "review", violations);

            // models: per-class table, the recall bound and the learning curve, each with its text
            for (String size : VIEWPORTS.keySet()) {
                resize(web, size);
                web.findElement(By.id("tab-models")).click();
                wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("#per-class tbody tr")));
                shot(web, shots, size + "-models");
                web.findElement(By.id("tab-label")).click();
            }
            web.findElement(By.id("tab-models")).click();
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("#per-class tbody tr")));
            assertEquals(List.of("defective", "ok"), web.findElements(By.cssSelector("#per-class tbody tr")).stream()
                    .map(r -> r.getAttribute("data-class")).toList());
            assertTrue(web.findElement(By.id("recall-bound")).getText().contains("with 95% confidence at least"),
                    web.findElement(By.id("recall-bound")).getText());
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("learning")));
            assertFalse(web.findElement(By.id("learning-advice")).getText().isBlank());
            assertEquals(2, web.findElements(By.cssSelector("#learning-curve polyline")).size(), "one line per class");
            assertTrue(web.findElements(By.cssSelector("#learning-table tr")).size() >= 3,
                    "the curve as a table: a header and a row per point (at least two points)");
            ((JavascriptExecutor) web).executeScript("document.getElementById('per-class-box').scrollIntoView()");
            shot(web, shots, "desktop-learning");
            assertTrue(web.findElement(By.id("confusion")).getAttribute("aria-label").contains("validation images"),
                    "the confusion matrix has a text alternative");
            check(web, "models", violations);
            // the tabs by keyboard: an arrow moves to the next one
            web.findElement(By.id("tab-models")).sendKeys(Keys.ARROW_RIGHT);
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("parts-view")));
            assertEquals("true", web.findElement(By.id("tab-parts")).getAttribute("aria-selected"));
            check(web, "parts", violations);
        } finally {
            web.quit();
            ctx.close();
        }
        assertTrue(violations.isEmpty(), "axe-core: serious or critical violations:\n" + String.join("\n",
                violations));
    }

    private static void check(WebDriver web, String view, List<String> out) throws Exception {
        for (Axe.Violation v : Axe.seriousOrCritical(web)) {
            out.add(view + ": " + v);
        }
    }

    private static void resize(WebDriver web, String size) {
        web.manage().window().setSize(VIEWPORTS.get(size));
    }

    private static void shot(WebDriver web, Path dir, String name) throws Exception {
        Files.write(dir.resolve(name + ".png"), ((TakesScreenshot) web).getScreenshotAs(OutputType.BYTES));
    }

    private static String imageId(WebDriver web) {
        return web.findElement(By.id("image")).getAttribute("data-id");
    }

    private static List<String> visibleClasses(WebDriver web) {
        return web.findElements(By.cssSelector("#classes button")).stream().filter(WebElement::isDisplayed)
                .map(e -> e.getAttribute("data-label")).toList();
    }

    /** A finger tap (touch pointer down and up) in the middle of {@code e}. */
    private static void tap(WebDriver web, WebElement e) {
        ((JavascriptExecutor) web).executeScript("arguments[0].scrollIntoView({block: 'center'})", e);
        var r = e.getRect();
        PointerInput finger = new PointerInput(PointerInput.Kind.TOUCH, "finger");
        Sequence s = new Sequence(finger, 0)
                .addAction(finger.createPointerMove(Duration.ZERO, PointerInput.Origin.viewport(),
                        r.getX() + r.getWidth() / 2, r.getY() + r.getHeight() / 2 - scrollY(web)))
                .addAction(finger.createPointerDown(PointerInput.MouseButton.LEFT.asArg()))
                .addAction(finger.createPointerUp(PointerInput.MouseButton.LEFT.asArg()));
        ((org.openqa.selenium.interactions.Interactive) web).perform(List.of(s));
    }

    /** A finger drawn {@code dx} pixels sideways across the middle of {@code e} in 250 ms. */
    private static void swipe(WebDriver web, WebElement e, int dx) {
        ((JavascriptExecutor) web).executeScript("arguments[0].scrollIntoView({block: 'start'})", e);
        var r = e.getRect();
        int x = r.getX() + r.getWidth() / 2 - dx / 2;
        int y = r.getY() + Math.min(r.getHeight() / 2, 150) - scrollY(web);
        PointerInput finger = new PointerInput(PointerInput.Kind.TOUCH, "finger");
        Sequence s = new Sequence(finger, 0)
                .addAction(finger.createPointerMove(Duration.ZERO, PointerInput.Origin.viewport(), x, y))
                .addAction(finger.createPointerDown(PointerInput.MouseButton.LEFT.asArg()))
                .addAction(finger.createPointerMove(Duration.ofMillis(250), PointerInput.Origin.viewport(), x + dx,
                        y))
                .addAction(finger.createPointerUp(PointerInput.MouseButton.LEFT.asArg()));
        ((org.openqa.selenium.interactions.Interactive) web).perform(List.of(s));
    }

    private static int scrollY(WebDriver web) {
        return ((Number) ((JavascriptExecutor) web).executeScript("return Math.round(window.scrollY)")).intValue();
    }
}
