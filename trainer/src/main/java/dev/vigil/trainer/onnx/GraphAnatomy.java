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

    /**
     * The number of trainable blocks when every layer trains ({@code --unfreeze all}): the blocks plus the stem
     * before the first boundary.
     */
    public int allBlocks() {
        return blocks.size();
    }

    /**
     * The tensor where the frozen prefix ends when the last {@code unfreeze} blocks are trained; the image input for
     * {@link #allBlocks()}.
     */
    public String cutFor(int unfreeze) {
        if (unfreeze == allBlocks()) {
            return input;
        }
        if (unfreeze < 0 || unfreeze > allBlocks()) {
            throw new VigilException("--unfreeze " + unfreeze + " is out of range: this backbone has " + blocks.size()
                    + " blocks before its classifier, so --unfreeze must be between 0 and " + allBlocks() + " ("
                    + allBlocks() + " = all: every layer)");
        }
        return blocks.get(blocks.size() - 1 - unfreeze);
    }

    /**
     * How many blocks before the features each tensor in {@code boundaries}'s order closes: the block a node belongs
     * to is the first boundary at or after it in topological order; 1 = the last block (ending at the features),
     * {@link #allBlocks()} = the stem.
     */
    public int blocksBack(String boundary) {
        int i = blocks.indexOf(boundary);
        return i < 0 ? -1 : blocks.size() - i;
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
