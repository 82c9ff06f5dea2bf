package dev.vigil.trainer.backbone;

import dev.vigil.core.image.ColorOrder;
import dev.vigil.core.image.Preprocessing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.trainer.SharedAssets;
import dev.vigil.core.VigilException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackboneResolverTest {
    @TempDir
    Path tmp;

    private final List<String> log = new ArrayList<>();

    @Test
    void catalogNameIsFoundInTheModelCacheAndVerified() throws Exception {
        Path cache = Files.createDirectories(tmp.resolve("models"));
        Files.copy(SharedAssets.squeezenet(), cache.resolve("squeezenet1.1-fp16.onnx"));
        Backbone b = new BackboneResolver(cache, log::add).resolve("squeezenet1.1-fp16");
        assertEquals("squeezenet1.1-fp16", b.name());
        assertTrue(b.fromCatalog());
        assertEquals(BackboneCatalog.SQUEEZENET_FP16.preprocessing(), b.preprocessing());
    }

    @Test
    void aLocalCopyOfACatalogFileIsRecognisedByItsHash() {
        Backbone b = new BackboneResolver(tmp, log::add).resolve(SharedAssets.mobilenet().toString());
        assertEquals("mobilenetv2-int8", b.name());
        assertEquals(ColorOrder.RGB, b.preprocessing().colorOrder());
    }

    @Test
    void aCachedFileWithTheWrongHashIsRefused() throws Exception {
        Path cache = Files.createDirectories(tmp.resolve("models"));
        byte[] bytes = Files.readAllBytes(SharedAssets.squeezenet());
        bytes[bytes.length / 2] ^= 1;
        Files.write(cache.resolve("squeezenet1.1-fp16.onnx"), bytes);
        VigilException e = assertThrows(VigilException.class,
                () -> new BackboneResolver(cache, log::add).resolve("squeezenet1.1-fp16"));
        assertTrue(e.getMessage().contains("must have " + BackboneCatalog.SQUEEZENET_FP16.sha256()), e.getMessage());
        assertTrue(e.getMessage().contains("delete it to download it again"), e.getMessage());
    }

    @Test
    void aTruncatedFileIsRefusedAsCorrupt() throws Exception {
        byte[] bytes = Files.readAllBytes(SharedAssets.squeezenet());
        Path cut = tmp.resolve("truncated.onnx");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length / 3));
        VigilException e = assertThrows(VigilException.class,
                () -> new BackboneResolver(tmp, log::add).resolve(cut.toString()));
        assertTrue(e.getMessage().startsWith(cut + " is not a valid ONNX model"), e.getMessage());
    }

    @Test
    void anUnknownNameListsTheCatalog() {
        VigilException e = assertThrows(VigilException.class,
                () -> new BackboneResolver(tmp, log::add).resolve("resnet-9000"));
        assertEquals("unknown backbone 'resnet-9000': use one of squeezenet1.1-fp16, mobilenetv2-int8, resnet18-v2,"
                + " resnet50-v1-int8, shufflenet-v2, densenet-121, or the path of an ONNX file", e.getMessage());
    }

    @Test
    void aMissingCatalogFileOfflineSaysWhereToPutIt() {
        Path cache = tmp.resolve("empty-cache");
        VigilException e = assertThrows(VigilException.class,
                () -> new BackboneResolver(cache, log::add).fetch(new BackboneSpec("x", "x.onnx",
                        "http://127.0.0.1:9/x.onnx", "00", 1, Preprocessing.imagenet(224), List.of("a"), "")));
        assertTrue(e.getMessage().contains("could not be downloaded from http://127.0.0.1:9/x.onnx"), e.getMessage());
        assertTrue(e.getMessage().contains("pass --backbone with the path of the file"), e.getMessage());
    }
}
