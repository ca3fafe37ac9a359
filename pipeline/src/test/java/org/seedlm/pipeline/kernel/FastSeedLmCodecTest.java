package org.seedlm.pipeline.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;

class FastSeedLmCodecTest {
  @Test
  void sameBitsAsReference() {
    for (SeedLmParams prm :
        new SeedLmParams[] {new SeedLmParams(8, 3, 8), new SeedLmParams(12, 4, 9), SeedLmParams.FOUR_BIT}) {
      for (int bits : new int[] {256, 0}) {
        int nb = prm.k() == 16 ? 3 : 60;
        float[] w = FastSeedSearchTest.blocks("student3", prm.c(), nb, 7);
        SeedLmCodec ref = new SeedLmCodec(prm);
        FastSeedLmCodec fast = new FastSeedLmCodec(prm, 2, bits);
        assertEquals(ref.name(), fast.name());
        assertEquals(ref.params(), fast.params());
        assertEquals(ref.bitsPerBlock(), fast.bitsPerBlock());
        byte[] a = new byte[(int) ref.packedBytes(nb) + 1];
        byte[] b = new byte[a.length];
        ref.encode(w, 0, nb, a, 3);
        fast.encode(w, 0, nb, b, 3);
        assertArrayEquals(a, b, prm + " bits=" + bits);
        float[] da = new float[w.length], db = new float[w.length];
        ref.decode(a, 3, nb, da, 0);
        fast.decode(b, 3, nb, db, 0);
        assertArrayEquals(da, db);
      }
    }
  }
}
