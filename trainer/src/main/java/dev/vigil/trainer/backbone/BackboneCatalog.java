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

    /** Where the ONNX Model Zoo serves its files (Git LFS behind it; Apache-2.0). */
    private static final String ZOO = "https://github.com/onnx/models/raw/main/validated/vision/classification/";

    /*
     * Stronger backbones for devices that are online: ONNX Model Zoo files with their published size and SHA-256 (the
     * repository's Git LFS pointers). Their blocks are found by graph analysis on first use (an empty list here);
     * none of them could be downloaded where Vigil is built, so what is verified is the analysis on small graphs of
     * the same shapes (GraphAnalysisTest), not these files (docs/trainer.md, "Stronger backbones").
     */

    public static final BackboneSpec RESNET18_V2 = new BackboneSpec(
            "resnet18-v2",
            "resnet18-v2-7.onnx",
            ZOO + "resnet/model/resnet18-v2-7.onnx",
            "3b4d048057854022232aa20bf68262e31718ab7119a17f920b8a2dc1433f824b",
            46_806_737L,
            Preprocessing.imagenet(224),
            List.of(),
            "ResNet-18 v2 (pre-activation), ImageNet-1k, opset 7, float (11.7 M parameters); torchvision-style RGB"
                    + " input");

    public static final BackboneSpec RESNET50_V1_INT8 = new BackboneSpec(
            "resnet50-v1-int8",
            "resnet50-v1-12-int8.onnx",
            ZOO + "resnet/model/resnet50-v1-12-int8.onnx",
            "c234f30975989788b4405f25253275aae247ab6dbdd34aaa69ab0a59ff76f6d0",
            25_816_052L,
            Preprocessing.imagenet(224),
            List.of(),
            "ResNet-50 v1, ImageNet-1k, int8 quantized, opset 12 (25.6 M parameters); torchvision-style RGB input");

    public static final BackboneSpec SHUFFLENET_V2 = new BackboneSpec(
            "shufflenet-v2",
            "shufflenet-v2-12.onnx",
            ZOO + "shufflenet/model/shufflenet-v2-12.onnx",
            "ea69821b4dd374ae2f33f9710dd1229ac263d0ee5b5a46ca3521f6483e1ba035",
            9_218_556L,
            Preprocessing.imagenet(224),
            List.of(),
            "ShuffleNet V2 1.0, ImageNet-1k, opset 12, float (2.3 M parameters); torchvision-style RGB input;"
                    + " channel shuffles (Split, Reshape, Transpose) train only at --unfreeze 0");

    public static final BackboneSpec DENSENET121 = new BackboneSpec(
            "densenet-121",
            "densenet-12.onnx",
            ZOO + "densenet-121/model/densenet-12.onnx",
            "0294e7e88e5b3360de9b0fdc321baf9e6ef18b7f058c4536caae3b9f18ed9ed5",
            32_726_877L,
            Preprocessing.imagenet(224),
            List.of(),
            "DenseNet-121, ImageNet-1k, opset 12, float (8.0 M parameters); torchvision-style RGB input");

    private static final List<BackboneSpec> ALL = List.of(SQUEEZENET_FP16, MOBILENETV2_INT8, RESNET18_V2,
            RESNET50_V1_INT8, SHUFFLENET_V2, DENSENET121);

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
