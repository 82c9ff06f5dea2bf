package dev.vigil.trainer.features;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.trainer.SharedAssets;
import dev.vigil.trainer.backbone.Backbone;
import dev.vigil.trainer.backbone.BackboneResolver;
import dev.vigil.trainer.data.ImageDataset;
import dev.vigil.core.image.Variant;
import dev.vigil.trainer.train.TrainOptions;
import dev.vigil.trainer.train.TrainingResult;
import dev.vigil.trainer.train.TransferTrainer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A set too large for the trainer's memory budget is streamed from the feature cache, and training on it gives
 * exactly what training on the same features held in memory gives (real NEU images, real SqueezeNet, one block
 * unfrozen, so the cut maps are the large fire7 outputs).
 */
class FeatureStreamingTest {
    @TempDir
    Path tmp;

    private record Run(TrainingResult result, float[][] probabilities, String log, FeatureStore.Extracted val) {}

    private Run train(Backbone bb, Path data, Path cache, String budgetMb) {
        return train(bb, data, cache, budgetMb, TrainOptions.defaults().withEpochs(4).withUnfreeze(1).withFolds(0)
                .withAugment(List.of(Variant.ORIGINAL, Variant.HFLIP)));
    }

    private Run train(Backbone bb, Path data, Path cache, String budgetMb, TrainOptions o) {
        String before = System.getProperty(FeatureMemory.PROPERTY);
        if (budgetMb == null) {
            System.clearProperty(FeatureMemory.PROPERTY);
        } else {
            System.setProperty(FeatureMemory.PROPERTY, budgetMb);
        }
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (TransferTrainer t = new TransferTrainer(bb, ImageDataset.scan(data, 2), o, cache,
                new PrintStream(log, true, StandardCharsets.UTF_8))) {
            TrainingResult r = t.train();
            return new Run(r, t.probabilities(t.validationFeatures(), t.cutShape()), log.toString(
                    StandardCharsets.UTF_8), t.validationFeatures());
        } finally {
            if (before == null) {
                System.clearProperty(FeatureMemory.PROPERTY);
            } else {
                System.setProperty(FeatureMemory.PROPERTY, before);
            }
        }
    }

    @Test
    void streamedTrainingEqualsInMemoryTraining() throws Exception {
        Backbone bb = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(
                SharedAssets.squeezenet().toString());
        Path data = SharedAssets.subset(SharedAssets.neu(), tmp.resolve("neu"), 0, 8);

        Run memory = train(bb, data, tmp.resolve("cache-a"), null);
        Run extractedAndStreamed = train(bb, data, tmp.resolve("cache-b"), "0");
        Run cachedAndStreamed = train(bb, data, tmp.resolve("cache-b"), "0");

        assertInstanceOf(CutMap.Floats.class, memory.val().features()[0][0].cut());
        assertTrue(!memory.log().contains("streaming them"), memory.log());
        for (Run streamed : List.of(extractedAndStreamed, cachedAndStreamed)) {
            assertTrue(streamed.log().contains("exceed the memory budget of 0 MB; streaming them from"),
                    streamed.log());
            assertInstanceOf(CutMap.OnDisk.class, streamed.val().features()[0][0].cut());
            assertEquals(memory.result().history().size(), streamed.result().history().size());
            for (int e = 0; e < memory.result().history().size(); e++) {
                assertEquals(memory.result().history().get(e).trainLoss(),
                        streamed.result().history().get(e).trainLoss(), 1e-6, "train loss, epoch " + e);
                assertEquals(memory.result().history().get(e).validationLoss(),
                        streamed.result().history().get(e).validationLoss(), 1e-6, "validation loss, epoch " + e);
            }
            for (int i = 0; i < memory.probabilities().length; i++) {
                assertArrayEquals(memory.probabilities()[i], streamed.probabilities()[i], 1e-5f, "image " + i);
            }
        }
        // the first streamed run extracted (and wrote) the maps it streams, the second read every one from the cache
        assertEquals(6 * 8 * 2, cachedAndStreamed.result().featuresFromCache());
        assertTrue(extractedAndStreamed.result().featuresFromCache() < 6 * 8 * 2 / 2,
                "from cache in the first streamed run: " + extractedAndStreamed.result().featuresFromCache());
    }

    @Test
    void fullFineTuningDecodesItsInputsAgainWhenTheyExceedTheBudget() throws Exception {
        Backbone bb = new BackboneResolver(tmp.resolve("models"), s -> { }).resolve(
                SharedAssets.squeezenet().toString());
        Path data = SharedAssets.subset(SharedAssets.neu(), tmp.resolve("neu-all"), 0, 4);
        TrainOptions all = TrainOptions.defaults().withEpochs(2).withUnfreeze(TrainOptions.UNFREEZE_ALL).withFolds(0)
                .withRefit(false).withHead(64, List.of(0, 4), PoolMode.AVGMAX)
                .withAugment(List.of(Variant.ORIGINAL, Variant.HFLIP));
        Run memory = train(bb, data, tmp.resolve("cache-c"), null, all);
        Run decoded = train(bb, data, tmp.resolve("cache-d"), "0", all);
        assertInstanceOf(CutMap.Floats.class, memory.val().features()[0][0].cut());
        assertInstanceOf(CutMap.Decoded.class, decoded.val().features()[0][0].cut());
        assertTrue(decoded.log().contains("exceed the memory budget of 0 MB; decoding them from the image files"),
                decoded.log());
        for (int e = 0; e < memory.result().history().size(); e++) {
            assertEquals(memory.result().history().get(e).trainLoss(), decoded.result().history().get(e).trainLoss(),
                    1e-6, "train loss, epoch " + e);
        }
        for (int i = 0; i < memory.probabilities().length; i++) {
            assertArrayEquals(memory.probabilities()[i], decoded.probabilities()[i], 1e-5f, "image " + i);
        }
    }
}
