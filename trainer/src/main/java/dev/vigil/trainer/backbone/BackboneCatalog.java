package dev.vigil.trainer.backbone;

import dev.vigil.core.image.ColorOrder;
import dev.vigil.core.image.Preprocessing;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/** The backbones Vigil knows by name. Hashes are pinned: a file that does not match is refused. */
public final class BackboneCatalog {
    public static final BackboneSpec SQUEEZENET_FP16 = new BackboneSpec(
            "squeezenet1.1-fp16",
            "squeezenet1.1-fp16.onnx",
            "https://raw.githubusercontent.com/microsoft/Windows-Machine-Learning/master/SharedContent/models/SqueezeNet_fp16.onnx",
            "21f25e3d9254af93e6218a359469fac714a017b3f9035c0f5c4acbf9a3ff7233",
            2_484_091L,
            new Preprocessing(224, 224, ColorOrder.BGR, 1f, new float[] {104f, 117f, 123f}, new float[] {1f, 1f, 1f}),
            List.of("fire2/concat_1", "fire3/concat_1", "fire4/concat_1", "fire5/concat_1", "fire6/concat_1",
                    "fire7/concat_1", "fire8/concat_1", "fire9/concat_1"),
            "SqueezeNet 1.1, ImageNet-1k, fp16 weights (1.24 M parameters); Caffe-style BGR input");

    public static final BackboneSpec MOBILENETV2_INT8 = new BackboneSpec(
            "mobilenetv2-int8",
            "mobilenetv2-12-int8.onnx",
            "https://github.com/onnx/models/raw/main/validated/vision/classification/mobilenet/model/mobilenetv2-12-int8.onnx",
            "83530ad811bc31d2b60a5599a21265a5057608c9b044b4ee758cc22f2309f54f",
            3_655_640L,
            Preprocessing.imagenet(224),
            List.of("339_quantized", "356_quantized", "365_quantized", "382_quantized", "391_quantized",
                    "400_quantized", "417_quantized", "426_quantized", "443_quantized", "452_quantized",
                    "627_quantized"),
            "MobileNetV2 1.0, ImageNet-1k, int8 quantized (QLinearConv); torchvision-style RGB input");

    private static final List<BackboneSpec> ALL = List.of(SQUEEZENET_FP16, MOBILENETV2_INT8);

    private BackboneCatalog() {}

    public static List<BackboneSpec> all() {
        return ALL;
    }

    public static Optional<BackboneSpec> byName(String name) {
        return ALL.stream().filter(b -> b.name().equals(name)).findFirst();
    }

    public static Optional<BackboneSpec> bySha256(String sha) {
        return ALL.stream().filter(b -> b.sha256().equalsIgnoreCase(sha)).findFirst();
    }

    public static String names() {
        return ALL.stream().map(BackboneSpec::name).collect(Collectors.joining(", "));
    }
}
