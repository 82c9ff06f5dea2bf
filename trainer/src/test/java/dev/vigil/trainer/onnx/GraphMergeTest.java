package dev.vigil.trainer.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.vigil.trainer.SharedAssets;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Two prefixes of the shared SqueezeNet merged into one graph: shared layers run once, results unchanged. */
class GraphMergeTest {

    @Test
    void sharedLayersRunOnceAndEveryOutputIsUnchanged() throws Exception {
        OnnxGraph bb = OnnxGraph.load(SharedAssets.squeezenet()).toFloat32();
        GraphAnatomy a = GraphAnalysis.analyse(bb);
        String deep = a.blockBack(2);
        String shallow = a.blockBack(6);
        OnnxGraph base = GraphSurgery.prefix(bb, 96, 96, List.of(deep));
        OnnxGraph other = GraphSurgery.prefix(bb, 96, 96, List.of(shallow));
        GraphMerge.Merged m = GraphMerge.merge(base, other, "other/");
        // every node of the shallow prefix is also in the deep one
        assertEquals(other.nodes().size(), m.shared());
        assertEquals(shallow, m.renamed(shallow));
        m.builder().output(OnnxGraph.floatValueInfo(deep, 0, 0, 0, 0));
        m.builder().output(OnnxGraph.floatValueInfo(m.renamed(shallow), 0, 0, 0, 0));
        OnnxGraph merged = m.builder().build();
        assertEquals(base.nodes().size(), merged.nodes().size());

        // a graph that differs after the input (here: the input scaled first) gets its own, prefixed copy
        GraphBuilder sb = new GraphBuilder(other.model()).name("scaled");
        sb.input(other.input());
        sb.initializer(OnnxTensors.floatTensor("half", new long[0], new float[] {0.5f}));
        sb.node(GraphBuilder.node("Mul", "scale", List.of(other.inputName(), "half"), List.of("scaled")));
        other.initializers().values().forEach(sb::initializer);
        sb.nodes(other.nodes());
        sb.rewireInput(other.inputName(), "scaled");
        // the Mul reads the input again after rewiring: restore it
        OnnxGraph scaled0 = sb.output(OnnxGraph.floatValueInfo(shallow, 0, 0, 0, 0)).build();
        var nodes = new java.util.ArrayList<>(scaled0.nodes());
        nodes.set(0, GraphBuilder.node("Mul", "scale", List.of(other.inputName(), "half"), List.of("scaled")));
        OnnxGraph scaled = new OnnxGraph(scaled0.model().toBuilder().setGraph(scaled0.graph().toBuilder().clearNode()
                .addAllNode(nodes)).build());
        GraphMerge.Merged m2 = GraphMerge.merge(base, scaled, "other/");
        assertEquals(0, m2.shared());
        assertEquals("other/" + shallow, m2.renamed(shallow));
        m2.builder().output(OnnxGraph.floatValueInfo(deep, 0, 0, 0, 0));
        m2.builder().output(OnnxGraph.floatValueInfo(m2.renamed(shallow), 0, 0, 0, 0));
        OnnxGraph merged2 = GraphMerge.prune(m2.builder().build());

        float[] x = new float[3 * 96 * 96];
        Random r = new Random(7);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        float[] deepAlone = run(base, deep, x);
        float[] shallowAlone = run(other, shallow, x);
        assertArrayEquals(deepAlone, run(merged, deep, x), 1e-6f);
        assertArrayEquals(shallowAlone, run(merged, shallow, x), 1e-6f);
        assertArrayEquals(deepAlone, run(merged2, deep, x), 1e-6f);
        assertArrayEquals(run(scaled, shallow, x), run(merged2, "other/" + shallow, x), 1e-6f);
        assertFalse(java.util.Arrays.equals(shallowAlone, run(merged2, "other/" + shallow, x)));
    }

    @Test
    void renameAndPrune() {
        OnnxGraph bb = OnnxGraph.load(SharedAssets.squeezenet()).toFloat32();
        GraphAnatomy a = GraphAnalysis.analyse(bb);
        OnnxGraph g = GraphSurgery.prefix(bb, 64, 64, List.of(a.blockBack(6)));
        OnnxGraph renamed = GraphMerge.rename(g, a.blockBack(6), "features");
        assertEquals(List.of("features"), GraphMerge.outputs(renamed));
        assertTrue(renamed.producer("features").isPresent());
        // a dead branch and an unused initializer are dropped
        GraphBuilder b = new GraphBuilder(renamed.model()).name("dead");
        b.input(renamed.input());
        renamed.initializers().values().forEach(b::initializer);
        b.nodes(renamed.nodes());
        b.initializer(OnnxTensors.floatTensor("unused", new long[0], new float[] {1f}));
        b.node(GraphBuilder.node("Relu", "dead", List.of("features"), List.of("dead_out")));
        b.output(renamed.graph().getOutput(0));
        OnnxGraph pruned = GraphMerge.prune(b.build());
        assertEquals(renamed.nodes().size(), pruned.nodes().size());
        assertFalse(pruned.isInitializer("unused"));
    }

    private static float[] run(OnnxGraph g, String output, float[] x) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(g.toBytes(), new OrtSession.SessionOptions());
                OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {1, 3, 96, 96});
                OrtSession.Result r = s.run(Map.of(g.inputName(), in))) {
            FloatBuffer fb = ((OnnxTensor) r.get(output).orElseThrow()).getFloatBuffer();
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
    }
}
