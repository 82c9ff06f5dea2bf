package dev.vigil.trainer.train;

/** How the new head reads the backbone's feature maps. */
public enum HeadKind {
    /**
     * {@link #POOLED}: on KolektorSDD's small cracks the pooled head with its cell map measured better than the
     * multiple-instance patch head (docs/benchmarks.md).
     */
    AUTO,
    /** Each tapped map pooled to a vector ({@code --pool}), one linear layer: strong when defects are large. */
    POOLED,
    /**
     * The linear layer applied at every position of the tapped maps (a 1x1 convolution): a class-score map whose
     * log-sum-exp pooling gives the image's scores (multiple-instance learning from image labels), and a defect map.
     */
    PATCH
}
