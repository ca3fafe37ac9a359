package org.seedlm.jobs;

import org.seedlm.pipeline.BadInputException;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.eval.llama.HfTokenizer;
import org.seedlm.pipeline.eval.llama.LlamaGenerator;
import org.seedlm.pipeline.eval.llama.LlamaWeights;
import org.seedlm.pipeline.eval.llama.Sampler;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code seedlm generate}: text from a Llama-family checkpoint or its packed model, greedy or sampled,
 * with a KV cache ({@link LlamaGenerator}); the prompt is echoed and each token printed as it is produced.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
    description = "Generate text from a Llama-family checkpoint (or its packed model): the prompt, then each new "
        + "token as it is produced. Greedy by default (--temperature 0); sampled with --temperature, --top-p and "
        + "--seed. With --packed, SeedLM weights stay packed in memory and are multiplied by the fused decode "
        + "kernel.")
final class Generate implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "Model directory (config.json, safetensors, "
      + "tokenizer.json; file:, hdfs:, s3a:)")
  String model;

  @Option(names = "--packed", description = "Packed model directory (RUN/packed, or RUN itself) to generate with")
  String packed;

  @Option(names = "--prompt", required = true, description = "Prompt text")
  String prompt;

  @Option(names = "--max-new-tokens", description = "Tokens to generate at most (default: ${DEFAULT-VALUE}); "
      + "stops earlier at EOS or at max_position_embeddings")
  int maxNewTokens = 64;

  @Option(names = "--temperature", description = "0 = greedy (default: ${DEFAULT-VALUE})")
  double temperature = 0;

  @Option(names = "--top-p", description = "Nucleus sampling mass when sampling (default: ${DEFAULT-VALUE})")
  double topP = 0.95;

  @Option(names = "--seed", description = "Sampling seed (default: ${DEFAULT-VALUE})")
  long seed = 1;

  @Mixin
  Cli.HadoopOptions hadoop = new Cli.HadoopOptions();

  @Override
  public Integer call() throws Exception {
    if (maxNewTokens < 0 || temperature < 0 || !(topP > 0 && topP <= 1)) {
      throw new BadInputException("Cannot generate: --max-new-tokens and --temperature must be >= 0 and "
          + "--top-p in (0, 1]");
    }
    Configuration conf = hadoop.hadoopConf();
    Path dir = new Path(model);
    PrintStream out = System.out;
    try (HfTokenizer tok = HfTokenizer.load(conf, dir);
        LlamaWeights w = packed == null ? LlamaWeights.checkpoint(conf, dir)
            : LlamaWeights.packed(conf, dir, Eval.packedDir(new Path(packed), conf), true);
        LlamaGenerator g = LlamaGenerator.open(w, Runtime.getRuntime().maxMemory() / 2)) {
      long t0 = System.nanoTime();
      int[] ids = tok.encode(prompt);
      HfTokenizer.Stream text = tok.stream(ids);
      out.print(tok.decode(ids));
      out.flush();
      List<int[]> gen = g.generate(List.of(ids), maxNewTokens, new Sampler(temperature, topP, seed),
          (item, id) -> {
            out.print(text.next(id));
            out.flush();
          });
      out.println();
      double seconds = (System.nanoTime() - t0) / 1e9;
      System.err.printf(java.util.Locale.ROOT, "[generate] %d prompt tokens, %d new tokens in %.2f s; weights held in"
          + " memory: %s%n", ids.length, gen.get(0).length, seconds, g.resident()
          ? String.format(java.util.Locale.ROOT, "%,d bytes%s", g.residentBytes(), packed == null ? ""
              : " (SeedLM projections packed, multiplied by the fused decode kernel)")
          : "none (read again at each step: the model is larger than half the heap)");
    }
    return Cli.OK;
  }
}
