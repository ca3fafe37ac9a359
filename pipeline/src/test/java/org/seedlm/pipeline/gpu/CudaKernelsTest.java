package org.seedlm.pipeline.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.codec.SeedChoice;

/**
 * The CUDA kernels through JCuda on a GPU, against the same Java results as {@link CudaHarnessTest}
 * (every float and every seed, e, q and error equal). Skips where no GPU can be used.
 */
class CudaKernelsTest {
  @Test
  void deviceEqualsJavaDecoderAndSearch() throws Exception {
    Optional<SeedLmAccelerator> acc = Devices.open("auto", 0, m -> {});
    Assumptions.assumeTrue(acc.isPresent(), "no usable GPU (see DevicesTest for the reason)");
    SeedLmAccelerator a = acc.get();
    KernelVectors v = CudaHarnessTest.cases(false);
    for (KernelVectors.Decode d : v.decode) {
      float[] got = a.decodeTensor(d.params(), d.packed(), d.blocks(), d.numel(), d.offsets(), d.g());
      assertArrayEquals(d.expected(), got, d.name());
    }
    for (KernelVectors.Search s : v.search) {
      SeedChoice[] got = a.search(s.params(), s.w(), 0, s.nBlocks(), s.offsets(), s.g(), s.rule());
      for (int b = 0; b < s.nBlocks(); b++) assertEquals(s.expected()[b], got[b], s.name() + " block " + b);
    }
  }
}
