package org.seedlm.pipeline.tools;

import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.codec.BlockTensorCodec;
import org.seedlm.pipeline.codec.CoefficientRule;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.SeedLmParams;
import org.seedlm.pipeline.codec.TensorCodec;
import org.seedlm.pipeline.kernel.FastSeedLmCodec;
import org.seedlm.pipeline.kernel.FastSeedSearch;
import org.seedlm.pipeline.safetensors.Checkpoint;

/**
 * Relative error of a SeedLM config (rule {@code best}) on whole tensors of a checkpoint for several
 * group sizes G (SPEC section 4b; the offset rule is fixed), with the bits per weight each G costs; each
 * tensor's first whole rows of at most {@code maxWeights} weights ({@link CodecComparison#sample}):
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp ... org.seedlm.pipeline.tools.GroupSizeSweep checkpoint config G1,G2,... maxWeights tensor...
 * </pre>
 */
public final class GroupSizeSweep {
  public static void main(String[] args) throws Exception {
    Checkpoint ckpt = Checkpoint.open(new Path(args[0]), new Configuration());
    SeedLmParams prm = SeedLmParams.named(args[1]);
    List<Integer> gs = new ArrayList<>();
    for (String g : args[2].split(",")) gs.add(Integer.parseInt(g));
    List<TensorCodec> codecs = new ArrayList<>();
    for (int g : gs) {
      codecs.add(new BlockTensorCodec(new FastSeedLmCodec(new SeedLmCodec(prm, CoefficientRule.BEST, g),
          Runtime.getRuntime().availableProcessors(), FastSeedSearch.defaultVectorBitSize())));
    }
    StringBuilder head = new StringBuilder(String.format("%-55s", "tensor"));
    for (int i = 0; i < gs.size(); i++) head.append(String.format(" %8s", "G=" + gs.get(i)));
    System.out.println(head);
    StringBuilder bpw = new StringBuilder(String.format("%-55s", "bits/weight"));
    boolean first = true;
    long maxWeights = Long.parseLong(args[3]);
    for (int t = 4; t < args.length; t++) {
      List<CodecComparison.Row> rows = CodecComparison.compare(ckpt, args[t], codecs, maxWeights);
      StringBuilder line = new StringBuilder(String.format("%-55s", args[t]));
      for (CodecComparison.Row r : rows) {
        line.append(String.format(" %8.5f", r.stats().relativeError()));
        if (first) bpw.append(String.format(" %8.5f", r.bitsPerWeight()));
      }
      first = false;
      System.out.println(line);
    }
    System.out.println(bpw);
  }
}
