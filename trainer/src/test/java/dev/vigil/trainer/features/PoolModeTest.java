package dev.vigil.trainer.features;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PoolModeTest {
    /** Two channels of a 2x2 map: {1, 2, 3, 4} and {5, 5, 5, 5}. */
    private static final float[] MAP = {1, 2, 3, 4, 5, 5, 5, 5};

    private static float[] pool(PoolMode m) {
        float[] out = new float[m.width(2)];
        m.pool(MAP, 0, 2, 4, out, 0);
        return out;
    }

    @Test
    void eachModePoolsAsDocumented() {
        assertArrayEquals(new float[] {2.5f, 5f}, pool(PoolMode.AVG));
        assertArrayEquals(new float[] {4f, 5f}, pool(PoolMode.MAX));
        assertArrayEquals(new float[] {2.5f, 5f, 4f, 5f}, pool(PoolMode.AVGMAX));
        float[] s = pool(PoolMode.AVGSTD);
        assertEquals(2.5f, s[0]);
        assertEquals(5f, s[1]);
        assertEquals(Math.sqrt(1.25 + PoolMode.STD_EPSILON), s[2], 1e-6, "population standard deviation");
        assertEquals(Math.sqrt(PoolMode.STD_EPSILON), s[3], 1e-6, "a flat channel: only epsilon");
        assertEquals(PoolMode.AVGSTD, PoolMode.parse(" AvgStd "));
    }
}
