package dev.vigil.app.service;

import static dev.vigil.app.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.samples.Sample;
import dev.vigil.app.samples.SampleStore;
import dev.vigil.app.testing.TestConfig;
import dev.vigil.config.DeviceConfig;
import dev.vigil.trainer.SharedAssets;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
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
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The grid in headless Chromium: thumbnails for tiles, a selection made with clicks, shift-click, "All like this"
 * and a long press, labelled with one request, and the whole batch undone with one more.
 */
class GridLabellingPageTest {
    @TempDir
    Path tmp;

    @Test
    void anOperatorSelectsTilesLabelsThemInOneRequestAndUndoesTheBatch() throws Exception {
        Path folder = tmp.resolve("frames");
        ApiClient.writeFrames(folder, 1, 96, 96);
        Path data = tmp.resolve("data");
        new AccountStore(data.resolve("accounts.json")).put("olga", AccountStore.Role.OPERATOR,
                "line two operator".toCharArray());
        DeviceConfig c = TestConfig.device("line3")
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(folder.toString(), 4,
                        false), null, null)))
                .offline()
                .storage(new DeviceConfig.Storage(data.toString(), null, null, null, null, null))
                .build();
        ApplicationContext ctx = ServeCommand.start(c);
        WebDriver web = LabellingPageTest.chrome(tmp.resolve("chrome-profile"));
        try {
            SampleStore store = ctx.getBean(VigilService.class).pipeline().samples();
            await(() -> store.count() == 1, Duration.ofSeconds(10), "the collected sample");
            // eight casting images judged by a model: four predicted defect, four ok (the queue: defects, then ok)
            List<Path> images;
            try (Stream<Path> s = Files.walk(SharedAssets.casting().resolve("test"))) {
                images = s.filter(p -> p.toString().endsWith(".jpeg")).sorted().limit(8).toList();
            }
            List<Sample> defects = new ArrayList<>();
            Instant t0 = Instant.now();
            for (int i = 0; i < 8; i++) {
                boolean defect = i < 4;
                Sample s = store.add("cam1", t0.minusSeconds(i), Files.readAllBytes(images.get(i)), "uncertain",
                        "m1", defect ? "defect" : "ok", defect ? "defect" : "ok", 0.9, List.of("ok", "defect"),
                        List.of(defect ? 0.1 : 0.9, defect ? 0.9 : 0.1), null);
                if (defect) {
                    defects.add(s);
                }
            }
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            WebDriverWait wait = new WebDriverWait(web, Duration.ofSeconds(10));
            LabellingPageTest.logIn(web, wait, url, "olga", "line two operator");
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "9 to label"));
            // count the page's requests from here on
            js(web, "window.requests = []; const f = window.fetch; window.fetch = (u, o) => {"
                    + " window.requests.push(((o && o.method) || 'GET') + ' ' + u); return f(u, o); };");

            new Actions(web).sendKeys("g").perform();
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("#grid figure")));
            List<WebElement> tiles = web.findElements(By.cssSelector("#grid figure"));
            List<String> ids = tiles.stream().map(t -> t.getAttribute("data-id")).toList();
            assertEquals(9, ids.size(), ids.toString());
            for (WebElement img : web.findElements(By.cssSelector("#grid figure img"))) {
                assertTrue(img.getAttribute("src").endsWith("/thumbnail"), img.getAttribute("src"));
            }
            String widths = "return [...document.querySelectorAll('#grid img')].map(i => i.naturalWidth).join(',')";
            try {
                wait.until(d -> js(d, widths).equals("96,160,160,160,160,160,160,160,160"));
            } catch (org.openqa.selenium.TimeoutException e) {
                throw new AssertionError("the tiles show the 160 px thumbnails: " + js(web, widths), e);
            }
            // tile 0 is the collected frame (unclassified, 96 px: never enlarged), 1..4 the defects, 5..8 the ok ones
            List<String> defectIds = defects.stream().map(Sample::id).toList();
            assertEquals(Set.copyOf(defectIds), Set.copyOf(ids.subList(1, 5)));

            tiles.get(1).click();
            new Actions(web).keyDown(Keys.SHIFT).click(tiles.get(3)).keyUp(Keys.SHIFT).perform();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("selected"), "3 selected"));
            web.findElement(By.id("select-like")).click(); // the anchor (tile 3) is predicted defect: tile 4 joins
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("selected"), "4 selected"));
            tiles.get(2).click(); // toggles one off again
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("selected"), "3 selected"));
            longPress(web, tiles.get(2)); // and a long press on a touch screen selects it
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("selected"), "4 selected"));
            longPress(web, tiles.get(2)); // a second one keeps it selected (a tap would toggle it off)
            Thread.sleep(300);
            assertEquals("4 selected", web.findElement(By.id("selected")).getText());
            assertTrue(tiles.get(2).getAttribute("class").contains("selected"));
            assertEquals(Set.copyOf(ids.subList(1, 5)), web.findElements(By.cssSelector("#grid figure.selected"))
                    .stream().map(t -> t.getAttribute("data-id")).collect(Collectors.toSet()));
            Path shots = Path.of("target", "screenshots");
            Files.createDirectories(shots);
            Files.write(shots.resolve("labelling-bulk.png"), ((TakesScreenshot) web).getScreenshotAs(OutputType.BYTES));

            js(web, "window.requests = [];");
            web.findElement(By.cssSelector("#bulk-classes button[data-label='defect']")).click();
            wait.until(d -> defectIds.stream().allMatch(id -> "defect".equals(store.get(id).orElseThrow()
                    .assignedLabel())));
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "5 to label"));
            @SuppressWarnings("unchecked")
            List<String> sent = (List<String>) js(web, "return window.requests");
            assertEquals(List.of("POST /api/samples/labels"), sent.stream().filter(r -> r.startsWith("POST")).toList(),
                    "one request labels the selection: " + sent);
            String batch = store.history(defectIds.get(0)).get(store.history(defectIds.get(0)).size() - 1).batch();
            assertNotNull(batch);
            for (String id : defectIds) {
                var h = store.history(id);
                assertEquals(batch, h.get(h.size() - 1).batch(), "one batch, one transaction");
            }
            assertEquals(0, web.findElements(By.cssSelector("#grid figure.selected")).size());

            js(web, "window.requests = [];");
            assertTrue(web.findElement(By.id("bulk-undo")).isEnabled());
            web.findElement(By.id("bulk-undo")).click();
            wait.until(d -> defectIds.stream().allMatch(id -> store.get(id).orElseThrow().assignedLabel() == null));
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "9 to label"));
            @SuppressWarnings("unchecked")
            List<String> undoSent = (List<String>) js(web, "return window.requests");
            assertEquals(List.of("POST /api/samples/labels/undo"), undoSent.stream().filter(r -> r.startsWith("POST"))
                    .toList(), "one request undoes the batch: " + undoSent);
            for (String id : defectIds) {
                var h = store.history(id);
                assertEquals(2, h.size(), "the label and its undo");
                assertEquals("olga", h.get(1).who());
                assertEquals("defect", h.get(1).previous());
                assertNull(h.get(1).label());
            }
            assertEquals(9, web.findElements(By.cssSelector("#grid figure")).size(), "back on the grid");
        } finally {
            web.quit();
            ctx.close();
        }
    }

    private static Object js(WebDriver web, String script) {
        return ((JavascriptExecutor) web).executeScript(script);
    }

    /** A finger held on {@code e} for 800 ms (touch pointer events). */
    private static void longPress(WebDriver web, WebElement e) {
        PointerInput finger = new PointerInput(PointerInput.Kind.TOUCH, "finger");
        var r = e.getRect();
        Sequence press = new Sequence(finger, 0)
                .addAction(finger.createPointerMove(Duration.ZERO, PointerInput.Origin.viewport(),
                        r.getX() + r.getWidth() / 2, r.getY() + r.getHeight() / 2))
                .addAction(finger.createPointerDown(PointerInput.MouseButton.LEFT.asArg()))
                .addAction(new org.openqa.selenium.interactions.Pause(finger, Duration.ofMillis(800)))
                .addAction(finger.createPointerUp(PointerInput.MouseButton.LEFT.asArg()));
        ((org.openqa.selenium.interactions.Interactive) web).perform(List.of(press));
    }
}
