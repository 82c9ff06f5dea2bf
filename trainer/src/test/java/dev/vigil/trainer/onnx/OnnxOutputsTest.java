package dev.vigil.trainer.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.vigil.core.VigilException;
import dev.vigil.core.model.OnnxOutputs;
import dev.vigil.trainer.SharedAssets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The serving side's streaming reader of output names agrees with the full protobuf parse, and refuses damage. */
class OnnxOutputsTest {
    @TempDir
    Path tmp;

    @Test
    void namesMatchTheParsedGraphOfRealModels() throws Exception {
        for (Path model : List.of(SharedAssets.squeezenet(), SharedAssets.mobilenet())) {
            List<String> parsed = OnnxGraph.load(model).graph().getOutputList().stream()
                    .map(ValueInfoProto::getName).toList();
            assertEquals(parsed, OnnxOutputs.names(model), model.toString());
        }
        // a graph with two outputs, as packages with a defect map have
        OnnxGraph bb = OnnxGraph.load(SharedAssets.squeezenet());
        Path two = tmp.resolve("two.onnx");
        List<String> prefixOutputs = List.of("fire5/concat_1", "fire9/concat_1");
        Files.write(two, GraphSurgery.prefix(bb, 224, 224, prefixOutputs).toBytes());
        List<String> expected = OnnxGraph.load(two).graph().getOutputList().stream().map(ValueInfoProto::getName)
                .toList();
        assertEquals(2, expected.size());
        assertEquals(expected, OnnxOutputs.names(two));
    }

    @Test
    void floatInitializersAreReadFromRawDataOrFloatDataAndTheRestSkipped() throws Exception {
        float[] big = new float[100_000];
        for (int i = 0; i < big.length; i++) {
            big[i] = i * 0.5f;
        }
        float[] mean = {0.25f, -1f, 3f, 4.5f, 5f, 6f};
        // raw_data as the exporter writes (OnnxTensors.floatTensor), float_data (packed), a big tensor not asked for,
        // and a tensor of another type under a wanted name
        ai.onnx.proto.OnnxMl.ModelProto m = ai.onnx.proto.OnnxMl.ModelProto.newBuilder().setIrVersion(8).setGraph(
                ai.onnx.proto.OnnxMl.GraphProto.newBuilder().setName("g")
                        .addInitializer(OnnxTensors.floatTensor("weights", new long[] {big.length}, big))
                        .addInitializer(OnnxTensors.floatTensor("vigil_drift_mean", new long[] {2, 3}, mean))
                        .addInitializer(ai.onnx.proto.OnnxMl.TensorProto.newBuilder().setName("f").setDataType(1)
                                .addDims(2).addDims(2).addAllFloatData(List.of(1f, -2f, 3.5f, 0f)))
                        .addInitializer(OnnxTensors.longTensor("l", new long[] {1}, new long[] {7})))
                .build();
        Path small = tmp.resolve("small.onnx");
        Files.write(small, m.toByteArray());
        var read = OnnxOutputs.floatInitializers(small, java.util.Set.of("vigil_drift_mean", "f", "l", "absent"));
        assertEquals(java.util.Set.of("vigil_drift_mean", "f"), read.keySet());
        assertTrue(Arrays.equals(mean, read.get("vigil_drift_mean").values()));
        assertTrue(Arrays.equals(new long[] {2, 3}, read.get("vigil_drift_mean").dims()));
        assertTrue(Arrays.equals(new float[] {1f, -2f, 3.5f, 0f}, read.get("f").values()));
        assertTrue(Arrays.equals(new long[] {2, 2}, read.get("f").dims()));
        assertTrue(Arrays.equals(big, OnnxOutputs.floatInitializers(small, java.util.Set.of("weights")).get("weights")
                .values()));
    }

    @Test
    void aTruncatedOrForeignFileIsAClearError() throws Exception {
        byte[] whole = Files.readAllBytes(SharedAssets.squeezenet());
        Path cut = tmp.resolve("cut.onnx");
        Files.write(cut, Arrays.copyOf(whole, whole.length / 2));
        VigilException e = assertThrows(VigilException.class, () -> OnnxOutputs.names(cut));
        assertTrue(e.getMessage().contains(cut.toString()) && e.getMessage().contains("truncated"), e.getMessage());

        Path text = tmp.resolve("text.onnx");
        Files.writeString(text, "this is not a model\n");
        e = assertThrows(VigilException.class, () -> OnnxOutputs.names(text));
        assertTrue(e.getMessage().contains(text.toString()), e.getMessage());
    }
}
