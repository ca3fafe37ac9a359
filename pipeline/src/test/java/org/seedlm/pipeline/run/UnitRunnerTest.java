package org.seedlm.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.Bits;

class UnitRunnerTest {

  @TempDir java.nio.file.Path tmp;

  @AfterEach
  void forget() {
    UnitRunner.closeCachedFiles();
  }

  /** Checks every row of every committed unit against an independent recomputation. */
  private static void checkRows(RunFixture f) throws Exception {
    BlockCodec codec = f.codec;
    int c = codec.blockSize();
    boolean seedlm = codec.name().startsWith("seedlm");
    for (WorkUnit u : f.plan.units()) {
      CommitMarker m = f.run.readCommit(u.id());
      assertEquals(u.id(), m.unit());
      assertEquals(u.tensor(), m.tensor());
      assertEquals(u.firstBlock(), m.firstBlock());
      List<BlockRow> rows = BlockTable.read(f.run.path(m.file()), f.conf);
      assertEquals(u.numBlocks(), rows.size());
      assertEquals(u.numBlocks(), m.rows());
      float[] w = f.weights.get(u.tensor());
      int g = codec.groupBlocks();
      int[] offsets = m.offsetArray();
      assertEquals(codec.groups(u.numBlocks()), offsets.length, "offsets of unit " + u.id());
      for (int gi = 0; gi < offsets.length; gi++) {
        // the reference rule, recomputed by a plain search: o = E(max |w|) - 6, E(x) the least e with x <= 7.5 * 2^e
        double mx = 0;
        for (long i = (u.firstBlock() + (long) gi * g) * c; i < Math.min(w.length, (u.firstBlock() + (gi + 1L) * g) * c); i++) {
          mx = Math.max(mx, Float.isFinite(w[(int) i]) ? Math.abs(w[(int) i]) : 0);
        }
        int e = -200;
        while (mx > 0 && !(mx <= 7.5 * Math.pow(2, e))) e++;
        assertEquals(mx == 0 ? 0 : Math.max(-100, Math.min(100, e - 6)), offsets[gi], "offset of group " + gi);
      }
      PlannedTensor t = f.plan.tensor(u.tensor());
      double unitSqErr = 0;
      long unitWeights = 0;
      for (int b = 0; b < rows.size(); b++) {
        BlockRow r = rows.get(b);
        long block = u.firstBlock() + b;
        assertEquals(block, r.block());
        assertEquals(u.id(), r.unit());
        assertEquals(u.tensor(), r.tensor());
        assertEquals(t.layer(), r.layer());
        assertEquals(t.kind(), r.kind());
        assertEquals(codec.name(), r.codec());
        assertEquals(codec.bitsPerBlock(), r.bits());
        assertEquals((codec.bitsPerBlock() + 7) / 8, r.code().length);
        int n = (int) Math.min(c, w.length - block * c);
        assertEquals(n, r.n(), "n of block " + block);
        float[] blockW = new float[c];
        for (int i = 0; i < n; i++) {
          blockW[i] = Float.isFinite(w[(int) block * c + i]) ? w[(int) block * c + i] : 0f;
        }
        float[] what = new float[c];
        int[] one = g == 0 ? new int[0] : new int[] {offsets[b / g]};
        codec.decode(r.code(), 0, 1, one, what, 0);
        double sq = 0;
        double norm = 0;
        double max = 0;
        for (int i = 0; i < n; i++) {
          double d = (double) blockW[i] - (double) what[i];
          sq += d * d;
          norm += (double) blockW[i] * blockW[i];
          max = Math.max(max, Math.abs(d));
        }
        // sq_err: the float64 sum rounded to the nearest float32, exactly; norm and max: 12 significant bits.
        assertEquals((double) (float) sq, r.sqErr(), "sq_err of block " + block);
        assertEquals(norm, r.sqNorm(), Math.scalb(norm, -12));
        assertEquals(max, r.maxAbsErr(), Math.scalb(max, -12));
        // The code is the codec's own encoding of the (zero-padded) block.
        byte[] again = new byte[r.code().length];
        codec.encode(blockW, 0, 1, one, again, 0);
        assertArrayEquals(again, r.code(), "code of block " + block);
        BlockFields fields = new BlockFields(codec.name());
        if (seedlm) {
          int k = Integer.parseInt(codec.params().get("K"));
          int p = Integer.parseInt(codec.params().get("P"));
          int seed = fields.seed(r.code());
          assertEquals(Bits.read(r.code(), 0, k), (long) seed);
          assertTrue(seed >= 1 && seed < (1 << k));
          assertEquals(Bits.readSigned(r.code(), k, 4), (int) fields.exponent(r.code()));
          assertEquals(p, fields.mantissas(r.code()).size());
          for (int j = 0; j < p; j++) {
            assertEquals(Bits.readSigned(r.code(), k + 4 + 4 * j, 4), (int) fields.mantissas(r.code()).get(j));
          }
        } else {
          assertNull(fields.seed(r.code()));
          assertNull(fields.exponent(r.code()));
          assertEquals(0, fields.mantissas(r.code()).size());
        }
        unitSqErr += sq;
        unitWeights += n;
      }
      assertEquals(unitWeights, m.weights());
      assertEquals(unitSqErr, m.sqErr(), 1e-12 * Math.max(1, unitSqErr));
    }
  }

  @Test
  void seedLmUnitsWriteCorrectRows() throws Exception {
    RunFixture f = RunFixture.create(tmp, "seedlm-c8-p3-k8", -1).plan(8, "fail");
    // DOWN: 91 weights = 12 blocks (last holds 3) = units 0 (8 blocks) and 1 (4); Q: 40 weights = 5 blocks;
    // UP: 35 weights = 5 blocks (last holds 3).
    assertEquals(4, f.plan.numUnits());
    for (UnitRunner.Outcome o : f.runAll()) {
      assertTrue(o.committed(), o.toString());
      assertNull(o.error());
    }
    assertEquals(4, f.run.committedUnits().cardinality());
    checkRows(f);
    List<BlockRow> last = BlockTable.read(f.run.path(f.run.readCommit(1).file()), f.conf);
    assertEquals(4, last.size());
    assertEquals(11, last.get(3).block());
    assertEquals(3, last.get(3).n());
  }

  @Test
  void rtnUnitsHaveNoSeedFields() throws Exception {
    RunFixture f = RunFixture.create(tmp, "rtn-asym-b4-g16", -1).plan(8, "fail");
    // DOWN: 91 weights = 6 blocks of 16 (last holds 11); Q: 40 = 3 blocks (last holds 8); UP: 35 = 3 blocks.
    assertEquals(3, f.plan.numUnits());
    f.runAll().forEach(o -> assertTrue(o.committed(), o.toString()));
    checkRows(f);
  }

  @Test
  void rerunningACommittedUnitKeepsTheFirstCommit() throws Exception {
    RunFixture f = RunFixture.create(tmp, "nf4-g64", -1).plan(8, "fail");
    WorkUnit u = f.plan.unit(0);
    assertTrue(UnitRunner.run(f.context(), f.conf, u).committed());
    CommitMarker first = f.run.readCommit(0);
    UnitRunner.Outcome again = UnitRunner.run(f.context(), f.conf, u);
    assertTrue(again.committed());
    assertEquals(first, f.run.readCommit(0));
  }

  @Test
  void nanWithPolicyFailFailsTheUnitAndCommitsNothing() throws Exception {
    // Element 70 is in block 8, the first block of unit 1.
    RunFixture f = RunFixture.create(tmp, "seedlm-c8-p3-k8", 70).plan(8, "fail");
    UnitRunner.Outcome o = UnitRunner.run(f.context(), f.conf, f.plan.unit(1));
    assertFalse(o.committed());
    assertTrue(o.badInput());
    assertNotNull(o.error());
    assertTrue(o.error().contains(RunFixture.DOWN), o.error());
    assertTrue(o.error().contains("block 8"), o.error());
    assertTrue(o.error().contains("element 70"), o.error());
    assertTrue(o.error().contains("--non-finite=zero"), o.error());
    assertTrue(f.run.committedUnits().isEmpty());
    assertFalse(f.run.fs().exists(f.run.commitPath(1)));
    UnitFailure failure = f.run.readFailure(1);
    assertEquals(o.error(), failure.message());
    assertTrue(failure.badInput());
    assertEquals(RunFixture.DOWN, failure.tensor());
    // The other units are fine.
    assertTrue(UnitRunner.run(f.context(), f.conf, f.plan.unit(0)).committed());
    RunStatus s = RunStatus.of(f.run);
    assertEquals(1, s.committed());
    assertEquals(1, s.failed());
    assertEquals(2, s.pending());
  }

  @Test
  void nanWithPolicyZeroCommitsAndEncodesZero() throws Exception {
    RunFixture f = RunFixture.create(tmp, "seedlm-c8-p3-k8", 70).plan(8, "zero");
    f.runAll().forEach(o -> assertTrue(o.committed(), o.toString()));
    checkRows(f); // checkRows replaces non-finite originals by 0
  }

  @Test
  void injectedFailureIsRecorded() throws Exception {
    RunFixture f = RunFixture.create(tmp, "nf4-g64", -1).plan(8, "fail");
    UnitRunner.Context ctx = new UnitRunner.Context(f.runDir.toString(), f.modelDir.toString(), f.spec,
        org.seedlm.pipeline.codec.Codecs::parse, java.util.Set.of(0));
    UnitRunner.Outcome o = UnitRunner.run(ctx, f.conf, f.plan.unit(0));
    assertFalse(o.committed());
    assertFalse(o.badInput());
    assertTrue(f.run.failedUnits().get(0));
  }
}
