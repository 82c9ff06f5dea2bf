package dev.vigil.app.decision;

/**
 * The verdict on one frame with the evidence behind it.
 *
 * @param verdict ok, defect or uncertain (after consensus)
 * @param label the most likely class; for a defect, the most likely defect class
 * @param confidence the probability of {@code label}
 * @param defectScore {@code 1 - P(ok)}, or the top probability when the model has no ok class
 * @param probabilities the model's class probabilities, in label order
 */
public record Decision(Verdict verdict, String label, double confidence, double defectScore, float[] probabilities) {}
