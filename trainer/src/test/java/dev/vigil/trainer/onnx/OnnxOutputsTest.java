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
