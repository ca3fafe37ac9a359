package org.seedlm.pipeline.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CodecsTest {

  @Test
  void standardNamesParseToThemselves() {
    assertEquals(
        List.of("seedlm-4bit", "seedlm-3bit", "rtn-sym-b4-g128", "rtn-asym-b4-g128", "nf4-g64"),
        Codecs.standardNames());
    for (String n : Codecs.standardNames()) {
      assertEquals(n, Codecs.parse(n).name());
    }
    // SPEC 4b: (K + 4 + 4P) / C + 8 / (G * C) with G = 4096: 4 + 1/4096 and 3 + 1/6144; version 1 without
    assertEquals(4.000244140625, Codecs.parse("seedlm-4bit").bitsPerWeight());
    assertEquals(3 + 1 / 6144.0, Codecs.parse("seedlm-3bit").bitsPerWeight(), 1e-15);
    assertEquals(4.0, new SeedLmCodec(SeedLmParams.FOUR_BIT).bitsPerWeight());
    assertEquals(3.0, new SeedLmCodec(SeedLmParams.THREE_BIT).bitsPerWeight());
    // stored bits: 8 per group on top of the blocks (4097 blocks of G = 4096 are two groups)
    assertEquals(4097L * 32 + 16, Codecs.parse("seedlm-4bit").storedBits(4097));
    assertEquals(4097L * 32, new SeedLmCodec(SeedLmParams.FOUR_BIT).storedBits(4097));
    assertEquals(3L * 528, Codecs.parse("rtn-sym-b4-g128").storedBits(3));
    assertEquals(4.125, Codecs.parse("rtn-sym-b4-g128").bitsPerWeight());
    assertEquals(4.15625, Codecs.parse("rtn-asym-b4-g128").bitsPerWeight());
    assertEquals(4.5, Codecs.parse("nf4-g64").bitsPerWeight());
  }

  @Test
  void generalNames() {
    assertEquals("seedlm-c4-p2-k8", Codecs.parse("seedlm-c4-p2-k8").name());
    assertEquals("seedlm-4bit", Codecs.parse("seedlm-c8-p3-k16").name());
    assertEquals("rtn-sym-b3-g64", Codecs.parse("rtn-sym-b3-g64").name());
    assertEquals("rtn-asym-b8-g32", Codecs.parse("rtn-asym-b8-g32").name());
    assertEquals("nf4-g128", Codecs.parse("nf4-g128").name());
    assertTrue(Codecs.parse("seedlm-c4-p2-k8") instanceof SeedLmCodec);
  }

  @Test
  void unknownAndInvalidNames() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Codecs.parse("int4"));
    assertTrue(e.getMessage().startsWith("Cannot use codec \"int4\": unknown name (known: "), e.getMessage());
    assertTrue(e.getMessage().contains("seedlm-4bit"));
    assertThrows(IllegalArgumentException.class, () -> Codecs.parse("seedlm-5bit"));
    assertThrows(IllegalArgumentException.class, () -> Codecs.parse(null));
    assertThrows(IllegalArgumentException.class, () -> Codecs.parse("rtn-sym-b9-g128"));
    assertThrows(IllegalArgumentException.class, () -> Codecs.parse("seedlm-c4-p5-k8"));
    assertThrows(IllegalArgumentException.class, () -> Codecs.parse("nf4-g0"));
    assertThrows(IllegalArgumentException.class, () -> Codecs.parse("rtn-sym-b4-g99999999999"));
  }

  @Test
  void packedSizesForOddBlockCountsAndTailPadding() {
    List<String> names =
        List.of(
            "seedlm-4bit", "seedlm-3bit", "seedlm-c4-p2-k8", "seedlm-c5-p2-k7", "rtn-sym-b4-g128",
            "rtn-asym-b4-g128", "rtn-sym-b3-g5", "rtn-asym-b3-g7", "nf4-g64", "nf4-g3");
    SplittableRandom rnd = new SplittableRandom(17);
    for (String n : names) {
      BlockCodec c = Codecs.parse(n);
      for (int nb : new int[] {1, 3}) {
        long bits = (long) nb * c.bitsPerBlock();
        assertEquals((bits + 7) / 8, c.packedBytes(nb), n);
        assertEquals(nb * (long) c.bitsPerBlock() + 8 * c.groups(nb), c.storedBits(nb), n);
        assertEquals(c.groupBlocks() == 0 ? 0 : 1, c.groups(nb), n);
        float[] w = new float[nb * c.blockSize()];
        for (int i = 0; i < w.length; i++) {
          w[i] = (float) (rnd.nextGaussian() * 0.05);
        }
        byte[] out = new byte[(int) c.packedBytes(nb)];
        c.encode(w, 0, nb, out, 0);
        // tail padding stays zero
        int pad = (int) (8 * out.length - bits);
        if (pad > 0) {
          assertEquals(0, out[out.length - 1] & ((1 << pad) - 1), n + " padding");
        }
        float[] d = new float[w.length];
        c.decode(out, 0, nb, d, 0);
        // the same blocks encoded one at a time at their bit offsets give the same bytes
        byte[] one = new byte[out.length];
        for (int b = 0; b < nb; b++) {
          c.encode(w, b * c.blockSize(), 1, one, (long) b * c.bitsPerBlock());
        }
        assertArrayEquals(out, one, n);
        for (float x : d) {
          assertTrue(Float.isFinite(x));
        }
      }
    }
    assertEquals(9, Codecs.parse("seedlm-3bit").packedBytes(2));
    assertEquals(14, Codecs.parse("seedlm-3bit").packedBytes(3));
    assertEquals(12, Codecs.parse("seedlm-4bit").packedBytes(3));
    assertEquals(198, Codecs.parse("rtn-sym-b4-g128").packedBytes(3)); // 3 * 528 bits
    assertEquals(200, Codecs.parse("rtn-asym-b4-g128").packedBytes(3)); // 3 * 532 = 1596 bits
    assertEquals(108, Codecs.parse("nf4-g64").packedBytes(3)); // 3 * 288 bits
  }
}
