package dev.vigil.trainer.train;

import dev.vigil.core.VigilException;
import java.util.Locale;

/**
 * How the unfrozen pretrained blocks learn (docs/trainer.md, "Fine-tuning strategies").
 *
 * @param lrDecay discriminative learning rates: the last unfrozen block learns at {@code lr × backbone-lr-factor},
 *     each block before it at {@code lrDecay} times the rate of the block after it ({@code --lr-decay})
 * @param bnTrain BatchNorm layers in the trainable part use and update batch statistics ({@code --bn train});
 *     by default their running statistics stay as pretrained and only their scale and shift learn
 * @param progressiveEvery 0 = every unfrozen block trains from the first epoch; {@code E > 0} = progressive
 *     unfreezing: the head alone first, then one more block every {@code E} epochs
 */
public record Finetune(float lrDecay, boolean bnTrain, int progressiveEvery) {
    /** Epochs per stage of {@code --schedule progressive} when no {@code :E} is given. */
    public static final int DEFAULT_EPOCHS_PER_STAGE = 3;
    /** Learning-rate factor per block towards the input. */
    public static final float DEFAULT_LR_DECAY = 0.5f;
    public static final Finetune DEFAULT = new Finetune(DEFAULT_LR_DECAY, false, 0);

    public Finetune {
        if (!(lrDecay > 0 && lrDecay <= 1)) {
            throw new VigilException("--lr-decay must be in (0, 1] (the factor per block towards the input), found "
                    + lrDecay);
        }
        if (progressiveEvery < 0 || progressiveEvery > 1000) {
            throw new VigilException("--schedule progressive:E needs E between 1 and 1000 epochs per stage, found "
                    + progressiveEvery);
        }
    }

    /**
     * Parses {@code --schedule}: {@code constant} or {@code progressive[:E]}.
     *
     * @return the epochs per stage, 0 for constant
     */
    public static int parseSchedule(String s) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        if (v.equals("constant")) {
            return 0;
        }
        if (v.equals("progressive")) {
            return DEFAULT_EPOCHS_PER_STAGE;
        }
        if (v.startsWith("progressive:")) {
            try {
                int e = Integer.parseInt(v.substring("progressive:".length()));
                if (e >= 1) {
                    return e;
                }
            } catch (NumberFormatException ignored) {
                // reported below
            }
        }
        throw new VigilException("--schedule must be constant or progressive[:E] with E a whole number of epochs"
                + " of 1 or more, found '" + s + "'");
    }

    /** Parses {@code --bn}: {@code frozen} (default) or {@code train}. */
    public static boolean parseBn(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "frozen" -> false;
            case "train" -> true;
            default -> throw new VigilException("--bn must be frozen (keep the pretrained BatchNorm statistics) or"
                    + " train (use and update batch statistics), found '" + s + "'");
        };
    }

    /** The schedule as {@code --schedule} spells it. */
    public String schedule() {
        return progressiveEvery == 0 ? "constant" : "progressive:" + progressiveEvery;
    }

    /** The learning rate of a pretrained block {@code back} blocks before the features (1 = the last block). */
    public float blockLr(float backboneLr, int back) {
        return (float) (backboneLr * Math.pow(lrDecay, Math.max(0, back - 1)));
    }
}
