package dev.vigil.trainer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The automatic input's warning about training images of clearly different sizes (two products in one table). */
class InputGeometryTest {
    private static List<int[]> of(int n300, int n1250) {
        List<int[]> s = new ArrayList<>();
        for (int i = 0; i < n300; i++) {
            s.add(new int[] {300, 300});
        }
        for (int i = 0; i < n1250; i++) {
            s.add(new int[] {500, 1250});
        }
        return s;
    }

    @Test
    void aMixOfTwoSizesIsNamedAndOneSizeOrAFewOutliersIsNot() {
        String mixed = InputGeometry.mixedSizes(of(60, 40));
        assertTrue(mixed != null && mixed.contains("300x300") && mixed.contains("500x1250"), mixed);
        assertNull(InputGeometry.mixedSizes(of(100, 0)));
        assertNull(InputGeometry.mixedSizes(of(95, 5)), "a few odd images are not a mix");
        List<int[]> close = new ArrayList<>(of(50, 0));
        for (int i = 0; i < 50; i++) {
            close.add(new int[] {320, 400});
        }
        assertNull(InputGeometry.mixedSizes(close), "sizes within 1.5x of each other are alike");
        assertEquals(null, InputGeometry.mixedSizes(of(2, 1)), "too few to tell");
    }
}
