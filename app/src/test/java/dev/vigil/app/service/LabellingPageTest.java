package dev.vigil.app.service;

import dev.vigil.app.testing.TestConfig;

import static dev.vigil.app.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.samples.Sample;
import dev.vigil.config.DeviceConfig;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/** The labelling page in headless Chromium: log in, label with the keyboard, undo, see the counts change. */
class LabellingPageTest {
    @TempDir
    Path tmp;

    static WebDriver chrome(Path profile) {
        Path chromium = Path.of("/usr/bin/chromium");
        Path driver = Path.of("/usr/bin/chromedriver");
        if (!Files.isExecutable(chromium) || !Files.isExecutable(driver)) {
            String why = "chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)";
            if ("true".equals(System.getenv("CI"))) {
                fail(why);
            }
            assumeTrue(false, why);
        }
        ChromeOptions o = new ChromeOptions().setBinary(chromium.toString()).addArguments("--headless",
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                "--user-data-dir=" + profile);
        return new ChromeDriver(new ChromeDriverService.Builder().usingDriverExecutable(driver.toFile()).build(), o);
    }

    /** Opens the page and logs in through its form. */
    static void logIn(WebDriver web, WebDriverWait wait, String url, String name, String password) {
        web.get(url + "/");
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("name"))).sendKeys(name);
        web.findElement(By.id("password")).sendKeys(password);
        web.findElement(By.id("login-button")).click();
    }

    /**
     * The heatmap overlay: off at first, {@code h} shows it over the sample (the fixture model's map of a bright spot),
     * a sample without a map hides it and disables the button, and the next sample with one shows it again.
     */
    @Test
    void anOperatorShowsTheHeatmapWithTheKeyAndItStaysOnFromSampleToSample() throws Exception {
        Path pkg = dev.vigil.trainer.model.MapModels.write(tmp.resolve("pkg"), "map-page", 64, 48,
                dev.vigil.core.image.Preprocessing.Fit.LETTERBOX, 8, true).dir();
        Path data = tmp.resolve("data");
        new AccountStore(data.resolve("accounts.json")).put("olga", AccountStore.Role.OPERATOR,
                "line two operator".toCharArray());
        DeviceConfig base = HeatmapServiceTest.config("tcp://127.0.0.1:9", data,
                HeatmapServiceTest.frames(tmp.resolve("frames")), pkg, null);
        // audit every ok frame, so the plain frame is a sample too (with a map that shows nothing)
        DeviceConfig c = TestConfig.device(base.device())
                .cameras(base.cameras())
                .model(base.model())
                .mqtt(base.mqtt())
                .storage(new DeviceConfig.Storage(data.toString(), null, null, 1.0, null, null))
                .web(base.web())
                .build();
        ApplicationContext ctx = ServeCommand.start(c);
        WebDriver web = chrome(tmp.resolve("chrome-profile"));
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            await(() -> p.samples().count() == 2, Duration.ofSeconds(20), "2 samples flagged");
            // and one judged by a model without a map: newest, so it comes between the two in the queue
            Sample none = p.samples().add("cam1", java.time.Instant.now().plusSeconds(60),
                    Files.readAllBytes(p.samples().imageFile(p.samples().list(null, 1).get(0))), "audit", "old-model",
                    "ok", "ok", 0.9, null, null, null);
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            WebDriverWait wait = new WebDriverWait(web, Duration.ofSeconds(10));
            logIn(web, wait, url, "olga", "line two operator");
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "3 to label"));
            Sample defect = p.samples().list(null, 10).stream().filter(x -> x.verdict().equals("defect")).findFirst()
                    .orElseThrow();
            wait.until(ExpectedConditions.attributeToBe(By.id("image"), "data-id", defect.id()));
            var overlay = web.findElement(By.id("heatmap"));
            assertEquals(false, overlay.isDisplayed(), "off by default");
            assertTrue(web.findElement(By.id("peak")).getText().contains("x 200, y 20"),
                    web.findElement(By.id("peak")).getText());

            new Actions(web).sendKeys("h").perform();
            wait.until(ExpectedConditions.visibilityOf(overlay));
            assertTrue(overlay.getAttribute("src").endsWith("/api/samples/" + defect.id() + "/heatmap"),
                    overlay.getAttribute("src"));
            wait.until(d -> ((Number) ((org.openqa.selenium.JavascriptExecutor) d).executeScript(
                    "return document.getElementById('heatmap').naturalWidth")).intValue() == 320);
            assertEquals(web.findElement(By.id("image")).getRect(), overlay.getRect(), "exactly over the image");
            Path shots = Path.of("target", "screenshots");
            Files.createDirectories(shots);
            Files.write(shots.resolve("heatmap.png"), ((TakesScreenshot) web).getScreenshotAs(OutputType.BYTES));

            new Actions(web).sendKeys("s").perform();
            wait.until(ExpectedConditions.attributeToBe(By.id("image"), "data-id", none.id()));
            wait.until(ExpectedConditions.invisibilityOf(overlay));
            assertEquals(false, web.findElement(By.id("heatmap-toggle")).isEnabled(), "nothing to show");
            assertEquals("–", web.findElement(By.id("peak")).getText());

            new Actions(web).sendKeys("s").perform();
            wait.until(ExpectedConditions.attributeToBe(By.id("image"), "data-id", p.samples().list(null, 10).stream()
                    .filter(x -> x.verdict().equals("ok") && x.heatmap() != null).findFirst().orElseThrow().id()));
            wait.until(ExpectedConditions.visibilityOf(overlay));
            assertTrue(overlay.getAttribute("src").endsWith("/heatmap"), "still on for the next sample with a map");

            web.findElement(By.id("heatmap-toggle")).click();
            wait.until(ExpectedConditions.invisibilityOf(overlay));
        } finally {
            web.quit();
            ctx.close();
        }
    }

    /**
     * A multi-task model's other head on the page: a sample judged by one (its product head said kolektor) shows a
     * button per class of that head; tapping one sets the operator's class on the server, tapping it again clears it.
     */
    @Test
    void anOperatorSetsAMultiTaskModelsOtherHeadOnTheSample() throws Exception {
        Path pkg = dev.vigil.trainer.model.MapModels.write(tmp.resolve("pkg"), "map-page", 64, 48,
                dev.vigil.core.image.Preprocessing.Fit.LETTERBOX, 8, true).dir();
        Path data = tmp.resolve("data");
        new AccountStore(data.resolve("accounts.json")).put("olga", AccountStore.Role.OPERATOR,
                "line two operator".toCharArray());
        DeviceConfig c = HeatmapServiceTest.config("tcp://127.0.0.1:9", data,
                HeatmapServiceTest.frames(tmp.resolve("frames")), pkg, null);
        ApplicationContext ctx = ServeCommand.start(c);
        WebDriver web = chrome(tmp.resolve("chrome-profile"));
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            await(() -> p.samples().count() >= 1, Duration.ofSeconds(20), "a sample flagged");
            var attributes = dev.vigil.app.mqtt.Attribute.of(List.of(new dev.vigil.core.model.Manifest.Head(
                    "product", "probabilities_product", List.of("casting", "kolektor"))),
                    List.of(new float[] {0.2f, 0.8f}));
            // uncertain: first in the queue
            Sample multi = p.samples().add("cam1", java.time.Instant.now().plusSeconds(60),
                    Files.readAllBytes(p.samples().imageFile(p.samples().list(null, 1).get(0))), "uncertain",
                    "multi-model", "uncertain", "ok", 0.55, List.of("defect", "ok"), List.of(0.45, 0.55), null, null,
                    attributes);
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            WebDriverWait wait = new WebDriverWait(web, Duration.ofSeconds(10));
            logIn(web, wait, url, "olga", "line two operator");
            wait.until(ExpectedConditions.attributeToBe(By.id("image"), "data-id", multi.id()));
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("#heads fieldset[data-head=product]")));
            assertTrue(web.findElement(By.cssSelector("#heads legend")).getText().contains("model says kolektor 80.0%"),
                    web.findElement(By.cssSelector("#heads legend")).getText());
            var casting = web.findElement(By.cssSelector("#heads button[data-value=casting]"));
            casting.click();
            await(() -> "casting".equals(p.samples().get(multi.id()).orElseThrow().assignedAttributes()
                    .get("product")), Duration.ofSeconds(10), "the product head set on the server");
            // the row is drawn again with the server's answer: find the button afresh
            wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class).until(d -> "true".equals(
                    d.findElement(By.cssSelector("#heads button[data-value=casting]")).getAttribute("aria-pressed")));
            web.findElement(By.cssSelector("#heads button[data-value=casting]")).click();
            await(() -> p.samples().get(multi.id()).orElseThrow().assignedAttributes().isEmpty(),
                    Duration.ofSeconds(10), "tapped again: cleared");
            assertEquals(null, p.samples().get(multi.id()).orElseThrow().assignedLabel(), "the verdict is separate");
            // a sample of a single classifier shows no heads
            new Actions(web).sendKeys("s").perform();
            wait.until(ExpectedConditions.invisibilityOfElementLocated(By.id("heads")));
        } finally {
            web.quit();
            ctx.close();
        }
    }

    @Test
    void anOperatorLabelsWithTheKeyboardUndoesAndSeesTheCounts() throws Exception {
        Path folder = tmp.resolve("frames");
        ApiClient.writeFrames(folder, 3, 320, 240);
        Path data = tmp.resolve("data");
        new AccountStore(data.resolve("accounts.json")).put("olga", AccountStore.Role.OPERATOR,
                "line two operator".toCharArray());
        DeviceConfig c = TestConfig.device("line5")
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(folder.toString(), 4,
                        false), null, null)))
                .offline()
                .storage(new DeviceConfig.Storage(data.toString(), null, null, null, null, null))
                .build();
        ApplicationContext ctx = ServeCommand.start(c);
        WebDriver web = chrome(tmp.resolve("chrome-profile"));
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            await(() -> p.samples().count() == 3, Duration.ofSeconds(10), "3 samples collected");
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            WebDriverWait wait = new WebDriverWait(web, Duration.ofSeconds(10));
            logIn(web, wait, url, "olga", "line two operator");
            try {
                wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "3 to label"));
            } catch (org.openqa.selenium.TimeoutException e) {
                Object state = ((org.openqa.selenium.JavascriptExecutor) web).executeAsyncScript(
                        "const done = arguments[arguments.length - 1];"
                        + "fetch('/api/samples?status=unlabelled&limit=500').then(r => r.text()).then(t => done("
                        + "document.getElementById('login-error').textContent + ' | app hidden='"
                        + " + document.getElementById('app').hidden + ' | status=' + "
                        + "document.getElementById('status').textContent + ' | ' + t.substring(0, 300)))");
                throw new AssertionError("page did not show the queue: " + state, e);
            }
            String first = web.findElement(By.id("image")).getAttribute("data-id");
            assertEquals(false, web.findElement(By.id("login")).isDisplayed(), "the login form is gone");

            new Actions(web).sendKeys("1").perform();   // classes: ok, defect
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "2 to label"));
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.cssSelector("[data-class=ok]"), "ok: 1"));
            assertEquals("ok", p.samples().get(first).orElseThrow().assignedLabel());

            new Actions(web).sendKeys("u").perform();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "3 to label"));
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.cssSelector("[data-class=ok]"), "ok: 0"));
            assertNull(p.samples().get(first).orElseThrow().assignedLabel(), "undo cleared the label");

            new Actions(web).sendKeys("2").perform();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.cssSelector("[data-class=defect]"),
                    "defect: 1"));
            new Actions(web).sendKeys("s").perform();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "1 to label"));
            Path shots = Path.of("target", "screenshots");
            Files.createDirectories(shots);
            Files.write(shots.resolve("labelling.png"), ((TakesScreenshot) web).getScreenshotAs(OutputType.BYTES));
            List<Sample> labelled = p.samples().list(Boolean.TRUE, 10);
            assertEquals(1, labelled.size());
            assertEquals("defect", labelled.get(0).assignedLabel());
            assertEquals(first, labelled.get(0).id());

            // review: the labelled queue shows the label and its history; a key relabels
            new Select(web.findElement(By.id("queue-kind"))).selectByValue("labelled");
            ((org.openqa.selenium.JavascriptExecutor) web).executeScript("document.activeElement.blur()");
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "1 to review"));
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("assigned"), "defect"));
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("history"), "olga: – → defect"));
            new Actions(web).sendKeys("1").perform();
            wait.until(d -> "ok".equals(p.samples().get(first).orElseThrow().assignedLabel()));
            assertEquals("defect", p.samples().history(first).get(p.samples().history(first).size() - 1)
                    .previous(), "relabelling keeps the previous value in the history");

            // delete: the sample and its image go
            new Select(web.findElement(By.id("queue-kind"))).selectByValue("unlabelled");
            ((org.openqa.selenium.JavascriptExecutor) web).executeScript("document.activeElement.blur()");
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "2 to label"));
            String doomed = web.findElement(By.id("image")).getAttribute("data-id");
            Path image = p.samples().imageFile(p.samples().get(doomed).orElseThrow());
            web.findElement(By.id("delete")).click(); // arms the button: no browser dialog
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("delete"), "Tap again to delete"));
            assertTrue(p.samples().get(doomed).isPresent(), "one click alone deletes nothing");
            web.findElement(By.id("delete")).click();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "1 to label"));
            assertTrue(p.samples().get(doomed).isEmpty(), "deleted from the index");
            assertTrue(!Files.exists(image), "and from the disk");
        } finally {
            web.quit();
            ctx.close();
        }
    }

    /**
     * The Parts view: the shift report of the parts in the store for the last 8 hours (the default range): totals, NG
     * rate, deadline misses, top defect types, the per-hour table, the lot in force; a camera filter; both CSV links
     * download what the report counts.
     */
    @Test
    void anOperatorSeesTheShiftReportOfThePartsInTheStore() throws Exception {
        Path data = tmp.resolve("data");
        new AccountStore(data.resolve("accounts.json")).put("olga", AccountStore.Role.OPERATOR,
                "line two operator".toCharArray());
        ApplicationContext ctx = ServeCommand.start(PartsApiTest.twoTriggeredCameras("line6", data));
        WebDriver web = chrome(tmp.resolve("chrome-profile"));
        try {
            dev.vigil.app.line.PartStore store = ctx.getBean(dev.vigil.app.line.PartStore.class);
            ctx.getBean(dev.vigil.app.line.Lots.class).set("cam1", "L-1");
            java.time.Instant now = java.time.Instant.now();
            java.time.Instant h3 = now.minus(Duration.ofHours(3));
            java.time.Instant h2 = now.minus(Duration.ofHours(2));
            java.time.Instant h1 = now.minus(Duration.ofHours(1));
            store.record(PartsApiTest.part(h3, "cam1", 1, "L-1", "ok", "ok"));
            store.record(PartsApiTest.part(h3.plusSeconds(1), "cam1", 2, "L-1", "defect", "scratch"));
            store.record(PartsApiTest.part(h2, "cam2", 3, "L-1", "defect", "scratch"));
            store.record(PartsApiTest.part(h2.plusSeconds(1), "cam1", 4, "L-1", "late", null));
            store.record(PartsApiTest.part(h1, "cam2", 5, "L-1", "ok", "ok"));
            store.record(PartsApiTest.part(h1.plusSeconds(1), "cam1", 6, "L-1", "defect", "dent"));
            store.record(PartsApiTest.part(now.minus(Duration.ofHours(10)), "cam1", 7, "L-0", "defect", "crack"));
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            WebDriverWait wait = new WebDriverWait(web, Duration.ofSeconds(10));
            logIn(web, wait, url, "olga", "line two operator");
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("tab-parts"))).click();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("parts-total"), "6"));
            assertEquals("2", web.findElement(By.id("parts-ok")).getText());
            assertEquals("4", web.findElement(By.id("parts-ng")).getText());
            assertEquals("66.7%", web.findElement(By.id("parts-ngrate")).getText());
            assertEquals("1", web.findElement(By.id("parts-late")).getText());
            assertEquals("late 1", web.findElement(By.id("parts-errors")).getText());
            assertEquals(List.of("scratch 2 50.0%", "dent 1 25.0%"), web.findElements(
                    By.cssSelector("#parts-defects tbody tr")).stream().map(e -> e.getText()).toList());
            var hours = web.findElements(By.cssSelector("#parts-hours tbody tr"));
            assertTrue(hours.size() >= 8 && hours.size() <= 9, "every hour of the shift: " + hours.size());
            assertEquals(List.of("2", "2", "2"), hours.stream().map(e -> e.getAttribute("data-parts"))
                    .filter(n -> !n.equals("0")).toList(), "three hours with two parts each");
            assertTrue(web.findElement(By.id("parts-lots")).getText().contains("cam1 L-1"),
                    web.findElement(By.id("parts-lots")).getText());
            Path shots = Path.of("target", "screenshots");
            Files.createDirectories(shots);
            Files.write(shots.resolve("parts.png"), ((TakesScreenshot) web).getScreenshotAs(OutputType.BYTES));

            // the CSV links download what the report counts (fetched with the page's session)
            var js = (org.openqa.selenium.JavascriptExecutor) web;
            String fetch = "const done = arguments[arguments.length - 1];"
                    + "fetch(document.getElementById(arguments[0]).href, {credentials: 'same-origin'})"
                    + ".then(r => r.text()).then(done, e => done('failed: ' + e));";
            String parts = (String) js.executeAsyncScript(fetch, "parts-csv");
            List<String> rows = List.of(parts.split("\r?\n")); // (the browser's CR LF may reach us as LF)
            assertTrue(rows.get(0).startsWith("time,camera,sequence,lot,"), parts);
            assertEquals(7, rows.size(), "header + the 6 parts of the shift: " + parts);
            assertTrue(rows.get(1).contains(",cam1,1,L-1,"), "oldest first: " + rows.get(1));
            String report = (String) js.executeAsyncScript(fetch, "report-csv");
            assertEquals(List.of("section,key,parts,ok,ng,ngRate,late,count,share", "total,,6,2,4,0.6667,1,,"),
                    List.of(report.split("\r?\n")).subList(0, 2), report);

            // one camera
            new Select(web.findElement(By.id("parts-camera"))).selectByValue("cam2");
            web.findElement(By.id("parts-show")).click();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("parts-total"), "2"));
            assertEquals("50.0%", web.findElement(By.id("parts-ngrate")).getText());
            assertEquals("0", web.findElement(By.id("parts-late")).getText());
            assertTrue(web.findElement(By.id("parts-csv")).getAttribute("href").contains("camera=cam2"));
        } finally {
            web.quit();
            ctx.close();
        }
    }
}
