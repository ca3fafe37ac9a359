package org.seedlm.jobs;

import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.kernel.SearchBenchmark;
import org.seedlm.pipeline.safetensors.Checkpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code seedlm bench}: the reference and the fast seed search on the same blocks in one process,
 * first on random Gaussian blocks, then (with --model) on real blocks of a checkpoint tensor.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Benchmark the fast seed search against the reference on random and real blocks.")
final class Bench implements Callable<Integer> {
  @Option(names = "--json", description = "One JSON object per configuration per line")
  boolean json;

  @Option(names = "--config", description = "seedlm-4bit, seedlm-3bit or all (default)")
  String config = "all";

  @Option(names = "--threads", description = "Threads for the multi-threaded run (default: all cores)")
  Integer threads;

  @Option(names = "--blocks", description = "Blocks for the fast kernel (default: per configuration)")
  Integer blocks;

  @Option(names = "--ref-blocks", description = "Blocks also run through the reference (default: per configuration)")
  Integer refBlocks;

  @Option(names = "--model", description = "Checkpoint whose tensor supplies real blocks (skipped if absent)")
  String model;

  @Option(names = "--tensor", description = "Tensor of real blocks (default: layer 0 query of BERT)")
  String tensor = "bert.encoder.layer.0.attention.self.query.weight";

  @Option(names = "--sweep", description = "Only the search speed at sigma 1 and 0.002 for version 1 and both "
      + "version 2 rules, in one process")
  boolean sweep;

  @Option(names = "--scales", description = "Only the relative error of the config on Gaussian tensors of six "
      + "scales, with and without outliers, version 1 against version 2")
  boolean scales;

  @picocli.CommandLine.Mixin
  Cli.HadoopOptions hadoop = new Cli.HadoopOptions();

  @Override
  public Integer call() throws Exception {
    List<String> common = new ArrayList<>(List.of("--config", config));
    if (json) {
      common.add("--json");
    }
    if (threads != null) {
      common.addAll(List.of("--threads", threads.toString()));
    }
    if (blocks != null) {
      common.addAll(List.of("--blocks", blocks.toString()));
    }
    if (refBlocks != null) {
      common.addAll(List.of("--ref-blocks", refBlocks.toString()));
    }
    if (scales) {
      for (String c : config.equals("all") ? List.of("seedlm-4bit", "seedlm-3bit") : List.of(config)) {
        org.seedlm.pipeline.tools.ScaleTable.main(new String[] {c});
      }
      return Cli.OK;
    }
    if (sweep) {
      common.add("--sweep");
      SearchBenchmark.main(common.toArray(new String[0]));
      return Cli.OK;
    }
    if (!json) {
      System.out.println("== random Gaussian blocks");
    }
    SearchBenchmark.main(common.toArray(new String[0]));
    org.seedlm.pipeline.decode.DecodeBenchmark.main(common.toArray(new String[0])); // decode vs memcpy
    if (!json) {
      org.seedlm.pipeline.eval.MatMulBenchmark.main(new String[0]); // the evaluation's matmul, both tilings
    }
    if (model != null) {
      java.nio.file.Path raw = Files.createTempFile("seedlm-bench-", ".f32");
      try (Checkpoint ck = Checkpoint.open(new Path(model), hadoop.hadoopConf())) {
        int n = (int) Math.min(ck.info(tensor).numel(), 1 << 22);
        float[] w = new float[n];
        ck.readFiniteFloats(tensor, 0, n, w, 0);
        ByteBuffer bb = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        bb.asFloatBuffer().put(w);
        try (OutputStream out = Files.newOutputStream(raw)) {
          out.write(bb.array());
        }
      }
      if (!json) {
        System.out.println("== real blocks: " + tensor + " of " + model);
      }
      List<String> args = new ArrayList<>(common);
      args.addAll(List.of("--file", raw.toString()));
      try {
        SearchBenchmark.main(args.toArray(new String[0]));
      } finally {
        Files.deleteIfExists(raw);
      }
    }
    return Cli.OK;
  }
}
