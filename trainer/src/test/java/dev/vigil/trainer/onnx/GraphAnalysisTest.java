package dev.vigil.trainer.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.trainer.SharedAssets;
import dev.vigil.core.VigilException;
import dev.vigil.trainer.backbone.BackboneCatalog;
import org.junit.jupiter.api.Test;

class GraphAnalysisTest {

    @Test
    void squeezenetCutPointsAreTheFireModuleOutputs() {
        OnnxGraph g = OnnxGraph.load(SharedAssets.squeezenet()).toFloat32();
        GraphAnatomy a = GraphAnalysis.analyse(g);
        assertEquals(BackboneCatalog.SQUEEZENET_FP16.blocks(), a.blocks());
        assertEquals("fire9/concat_1", a.features());
        assertEquals("fire8/concat_1", a.cutFor(1));
        assertEquals("fire7/concat_1", a.cutFor(2));
        assertTrue(a.cutPoints().contains("pool1_1"), "a chain tensor is a cut point");
        assertTrue(!a.cutPoints().contains("fire9/expand1x1_2"), "a branch of a fire module is not a cut point");
    }

    @Test
    void mobilenetInt8CutPointsAreTheResidualAddsAndTheLastFeatureMap() {
        OnnxGraph g = OnnxGraph.load(SharedAssets.mobilenet());
        GraphAnatomy a = GraphAnalysis.analyse(g);
        assertEquals(BackboneCatalog.MOBILENETV2_INT8.blocks(), a.blocks());
        assertEquals("627_quantized", a.features());
    }

    @Test
    void fp16WeightsAreWidenedToFp32() {
        OnnxGraph g = OnnxGraph.load(SharedAssets.squeezenet());
        assertEquals(OnnxTensors.FLOAT16, g.inputElementType());
        OnnxGraph f = g.toFloat32();
        assertEquals(OnnxTensors.FLOAT, f.inputElementType());
        assertTrue(f.initializers().values().stream().allMatch(t -> t.getDataType() == OnnxTensors.FLOAT));
        float[] half = OnnxTensors.toFloats(g.initializer("conv10_w_0"));
        float[] full = OnnxTensors.toFloats(f.initializer("conv10_w_0"));
        assertEquals(half.length, full.length);
        for (int i = 0; i < half.length; i++) {
            assertEquals(half[i], full[i]);
        }
    }

    @Test
    void unfreezeBeyondTheAvailableBlocksIsAClearError() {
        GraphAnatomy a = GraphAnalysis.analyse(OnnxGraph.load(SharedAssets.squeezenet()).toFloat32());
        assertEquals(a.input(), a.cutFor(8), "as many blocks as there are is every layer: the cut is the input");
        VigilException e = assertThrows(VigilException.class, () -> a.cutFor(9));
        assertEquals("--unfreeze 9 is out of range: this backbone has 8 blocks before its classifier, so --unfreeze"
                + " must be between 0 and 8 (8 = all: every layer)", e.getMessage());
    }

    @Test
    void halfFloatConversionHandlesSpecialValues() {
        assertEquals(1.0f, OnnxTensors.halfToFloat((short) 0x3c00));
        assertEquals(-2.0f, OnnxTensors.halfToFloat((short) 0xc000));
        assertEquals(65504f, OnnxTensors.halfToFloat((short) 0x7bff));
        assertEquals(Float.POSITIVE_INFINITY, OnnxTensors.halfToFloat((short) 0x7c00));
        assertEquals(5.9604645e-8f, OnnxTensors.halfToFloat((short) 0x0001));
    }
}
