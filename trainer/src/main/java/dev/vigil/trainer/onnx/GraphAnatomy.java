package dev.vigil.trainer.onnx;

import dev.vigil.core.VigilException;
import java.util.List;

/**
 * What graph analysis found in a classification network.
 *
 * @param input the image input tensor
 * @param output the class-score output tensor
 * @param cutPoints every tensor that all paths from input to output pass through, in topological order
 * @param blocks block boundaries before the classifier, in topological order; the last one is {@code features}
 * @param features the last spatial feature map before the ImageNet classifier (where the new head attaches)
 */
public record GraphAnatomy(String input, String output, List<String> cutPoints, List<String> blocks,
        String features) {

    public GraphAnatomy {
        cutPoints = List.copyOf(cutPoints);
        blocks = List.copyOf(blocks);
    }

    /** How many blocks {@code --unfreeze} can train at most. */
    public int maxUnfreeze() {
        return blocks.size() - 1;
    }

    /** The tensor where the frozen prefix ends when the last {@code unfreeze} blocks are trained. */
    public String cutFor(int unfreeze) {
        if (unfreeze < 0 || unfreeze > maxUnfreeze()) {
            throw new VigilException("--unfreeze " + unfreeze + " is out of range: this backbone has " + blocks.size()
                    + " blocks before its classifier, so --unfreeze must be between 0 and " + maxUnfreeze());
        }
        return blocks.get(blocks.size() - 1 - unfreeze);
    }

    /** The block boundary {@code back} blocks before the final features (0 = the features themselves). */
    public String blockBack(int back) {
        if (back < 0 || back > maxUnfreeze()) {
            throw new VigilException("tap " + back + " is out of range: this backbone has " + blocks.size()
                    + " blocks, so a tap must be between 0 and " + maxUnfreeze());
        }
        return blocks.get(blocks.size() - 1 - back);
    }
}
