package dev.vigil.app.service;

import dev.vigil.app.testing.TestConfig;

import static dev.vigil.app.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.samples.Sample;
import dev.vigil.app.testing.TestModels;
import dev.vigil.config.DeviceConfig;
import dev.vigil.trainer.SharedAssets;
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
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The admin's side of the page in headless Chromium, against the running service with a real model serving: label
 * with the keyboard and in grid mode, start a training run and follow its progress to the end, find the new model as
 * a candidate in the models view (confusion matrix, threshold curve, shadow figures), promote it, roll it back.
 * Screenshots of both views go to {@code target/screenshots/}.
 */
class ModelsPageTest {
    @TempDir
    Path tmp;

    @Test
    void anAdminLabelsTrainsFollowsProgressPromotesAndRollsBack() throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine();
        Path casting = SharedAssets.casting();
        Path active = TestModels.casting(tmp, "model", 0, 10, 5, 42);
        Path frames = tmp.resolve("frames");
        Path live = tmp.resolve("live");
        TestModels.linkFrames(casting.resolve("test"), frames, 0, 8);
        TestModels.linkFrames(casting.resolve("test"), live, 8, 3);
        Path data = tmp.resolve("data");
        new AccountStore(data.resolve("accounts.json")).put("ada", AccountStore.Role.ADMIN,
                "line two admin".toCharArray());
        DeviceConfig c = TestConfig.device("line6")
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(frames.toString(), 8,
                        false), null, null), new DeviceConfig.Camera("cam2",
                        DeviceConfig.Source.folder(live.toString(), 3, true), null, null)))
                .model(new DeviceConfig.ModelSettings(active.toString(), false))
                .offline()
                .storage(new DeviceConfig.Storage(data.toString(), null, null, 1.0, 1000, null))
                .training(new DeviceConfig.Training(SharedAssets.squeezenet().toString(), 0, 8, null, 0, null, 6,
                        false).withLearningCurve(false))
                .build();
        ApplicationContext ctx = ServeCommand.start(c);
        WebDriver web = LabellingPageTest.chrome(tmp.resolve("chrome-profile"));
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            String firstModel = p.model().id();
            await(() -> p.cameraStatus().get("cam1").frames() == 16 && p.samples().count() >= 16,
                    Duration.ofSeconds(30), "the 16 frames of cam1 flagged (every ok frame audited)");
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            WebDriverWait wait = new WebDriverWait(web, Duration.ofSeconds(15));
            LabellingPageTest.logIn(web, wait, url, "ada", "line two admin");
            wait.until(ExpectedConditions.textMatches(By.id("remaining"), java.util.regex.Pattern.compile(
                    "[1-9][0-9]* to label")));
            List<String> classes = List.of("defective", "ok"); // the serving model's labels, in order

            // the keyboard: four samples one by one, each with the key of its true class
            for (int i = 0; i < 4; i++) {
                String id = web.findElement(By.id("image")).getAttribute("data-id");
                String key = String.valueOf(classes.indexOf(truth(p, id)) + 1);
                new Actions(web).sendKeys(key).perform();
                wait.until(d -> p.samples().get(id).orElseThrow().assignedLabel() != null);
                wait.until(d -> !id.equals(d.findElement(By.id("image")).getAttribute("data-id")));
            }
            // grid mode: tap the defective tiles and label them at once; a screen of good parts: select all, label
            new Actions(web).sendKeys("g").perform();
            Path shots = Path.of("target", "screenshots");
            Files.createDirectories(shots);
            int byTap = 0;
            int byAll = 0;
            for (int pass = 0; pass < 10 && !web.findElement(By.id("remaining")).getText().equals("0 to label");
                    pass++) {
                wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("#grid figure")));
                List<String> shown = web.findElements(By.cssSelector("#grid figure")).stream()
                        .map(t -> t.getAttribute("data-id")).toList();
                List<String> defective = shown.stream().filter(id -> truth(p, id).equals("defective")).toList();
                if (pass == 0) {
                    Files.write(shots.resolve("labelling-grid.png"),
                            ((TakesScreenshot) web).getScreenshotAs(OutputType.BYTES));
                }
                if (!defective.isEmpty()) {
                    for (String id : defective) {
                        web.findElement(By.cssSelector("#grid figure[data-id='" + id + "']")).click();
                    }
                    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("selected"),
                            defective.size() + " selected"));
                    new Actions(web).sendKeys("1").perform();
                    byTap += defective.size();
                } else {
                    new Actions(web).sendKeys("a").sendKeys("2").perform();
                    byAll += shown.size();
                }
                List<String> done = defective.isEmpty() ? shown : defective;
                wait.until(d -> done.stream().allMatch(id -> p.samples().get(id).orElseThrow().assignedLabel()
                        != null));
            }
            assertTrue(byTap > 0 && byAll > 0, "both ways of grid labelling used: " + byTap + ", " + byAll);
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("remaining"), "0 to label"));
            List<Sample> labelled = p.samples().list(Boolean.TRUE, 1000);
            assertEquals(4 + byTap + byAll, labelled.size());
            for (Sample s : labelled) {
                assertEquals(truth(p, s.id()), s.assignedLabel(), "every label is the true class: " + s.source());
            }
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("since"),
                    labelled.size() + " labelled since the last training"));

            // train: progress while it runs, the outcome when it ends
            web.findElement(By.id("train")).click();
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("train-cancel")));
            new WebDriverWait(web, Duration.ofSeconds(240)).until(ExpectedConditions.attributeToBe(
                    By.id("train-status"), "data-state", "DONE"));
            assertTrue(web.findElement(By.id("train-status")).getText().contains("waits for an admin"),
                    web.findElement(By.id("train-status")).getText());
            String candidate = p.registry().pointer().candidate();
            assertNotEquals(null, candidate);
            assertEquals(firstModel, p.model().id(), "training.autoPromote is off: the candidate waits");

            web.findElement(By.id("tab-models")).click();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.cssSelector(
                    "tr[data-model='" + candidate + "'] .badge"), "candidate"));
            wait.until(ExpectedConditions.attributeToBe(By.id("model-detail"), "data-model", candidate));
            wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#curve polyline")));
            wait.until(ExpectedConditions.presenceOfElementLocated(By.id("operating-point")));
            assertTrue(web.findElement(By.id("detail-summary")).getText().contains("6/6 live frames beside "
                    + firstModel), web.findElement(By.id("detail-summary")).getText());
            web.manage().window().setSize(new org.openqa.selenium.Dimension(1280, 1300)); // the figures too
            Files.write(shots.resolve("models.png"), ((TakesScreenshot) web).getScreenshotAs(OutputType.BYTES));

            web.findElement(By.id("promote")).click();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.cssSelector(
                    "tr[data-model='" + candidate + "'] .badge"), "active"));
            assertEquals(candidate, p.model().id(), "promoted from the page: a hot swap");
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("rollback"))).click();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.cssSelector(
                    "tr[data-model='" + firstModel + "'] .badge"), "active"));
            assertEquals(firstModel, p.model().id(), "rolled back in one step");
            assertEquals(candidate, p.registry().pointer().previous());

            web.findElement(By.id("tab-label")).click();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("since"),
                    "0 labelled since the last training"));
        } finally {
            web.quit();
            ctx.close();
        }
    }

    /** The true class of a sample, from the file name of the frame it came from. */
    private static String truth(InspectionPipeline p, String sampleId) {
        return p.samples().get(sampleId).orElseThrow().source().startsWith("defective") ? "defective" : "ok";
    }
}
