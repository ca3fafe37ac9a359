package org.seedlm.jobs;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.codec.BlockTensorCodec;
import org.seedlm.pipeline.codec.Codecs;
import org.seedlm.pipeline.codec.TensorCodec;
import org.seedlm.pipeline.codec.TensorCodecs;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.tools.CodecComparison;
import java.nio.file.Paths;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.seedlm.pipeline.eval.BrownCorpus;
import org.seedlm.pipeline.eval.ZeroShotReport;
import org.seedlm.pipeline.run.TensorSelection;
import org.seedlm.pipeline.tools.DecodedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code seedlm compare}: every codec on the same weights of one tensor, side by side (no Spark). */
@Command(name = "compare", mixinStandardHelpOptions = true,
    description = "Encode the same weights of one tensor with several codecs and print bits per weight and "
        + "relative error side by side.")
final class Compare implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "Checkpoint directory or file")
  String model;

  @Option(names = "--tensor", split = ",", description = "Tensor names, comma-separated, one table each "
      + "(default: bert.encoder.layer.0.attention.self.query.weight)")
  List<String> tensors = new ArrayList<>(List.of("bert.encoder.layer.0.attention.self.query.weight"));

  @Option(names = "--codecs", split = ",", description = "Codecs, block or tensor-level (default: seedlm-4bit, "
      + "seedlm-3bit, rtn-sym-b4-g128, rtn-asym-b4-g128, nf4-g64, int8-row, int8-row-onone, ternary-g64-t0.7, "
      + "ternary-g64-t2, ternary5-g64-t0.5, kashin)")
  List<String> codecs = new ArrayList<>();

  @Option(names = "--max-weights", description = "Compare on the first whole rows of the tensor holding at most "
      + "N weights (default: the whole tensor)")
  long maxWeights = Long.MAX_VALUE;

  @Option(names = "--eval", description = "Also encode every selected tensor of the model with each codec, decode "
      + "it in memory and evaluate it against the original (the columns of report; no run, no packed model)")
  boolean eval;

  @Option(names = "--items", description = "With --eval: cloze items (default: ${DEFAULT-VALUE}; half as many MLM "
      + "sentences or Brown passages)")
  int items = 100;

  @Option(names = "--brown", description = "With --eval: Brown corpus folder (default: -Dseedlm.brown.dir, else "
      + "work/data)")
  String brown;

  @Option(names = "--kernel", description = "fast (default) or reference")
  String kernel = SeedLmConf.KERNEL_DEFAULT;

  @picocli.CommandLine.Mixin
  Cli.HadoopOptions hadoop = new Cli.HadoopOptions();

  /** Every codec on every selected tensor, decoded in memory, evaluated against the original: one table. */
  private void evaluate(Checkpoint ck, List<TensorCodec> list) throws java.io.IOException {
    Configuration conf = hadoop.hadoopConf();
    Path modelDir = ck.modelDirectory();
    BrownCorpus corpus = brown == null ? BrownCorpus.load() : BrownCorpus.load(Paths.get(brown));
    Report.Evaluation evaluation = Report.evaluation(conf, modelDir, corpus, items, 0);
    System.out.printf("Whole model, the tensors of the default selection, decoded in memory; %s%n",
        evaluation.describe());
    System.out.printf("%-18s %7s %9s %s%n", "codec", "bits/w", "rel_error", evaluation.header());
    for (TensorCodec codec : list) {
      DecodedModel decoded = DecodedModel.encode(ck, TensorSelection.defaults(), codec);
      ZeroShotReport z = evaluation.evaluate(decoded);
      System.out.printf(Locale.ROOT, "%-18s %7.3f %9.5f %s%n", codec.name(), decoded.bitsPerWeight(),
          decoded.stats().relativeError(), evaluation.cells(z));
    }
  }

  @Override
  public Integer call() throws Exception {
    List<String> names = new ArrayList<>(codecs);
    if (names.isEmpty()) {
      names.addAll(Codecs.standardNames());
      names.addAll(TensorCodecs.standardNames());
    }
    List<TensorCodec> list = new ArrayList<>();
    for (String n : names) {
      list.add(TensorCodecs.isTensorCodecName(n) ? TensorCodecs.parse(n)
          : new BlockTensorCodec(Kernels.provider(kernel, Runtime.getRuntime().availableProcessors()).codec(n)));
    }
    try (Checkpoint ck = Checkpoint.open(new Path(model), hadoop.hadoopConf())) {
      for (String tensor : tensors) {
        CodecComparison.Sample sample = CodecComparison.sample(ck, tensor, maxWeights);
        List<CodecComparison.Row> rows = CodecComparison.compare(sample, list);
        System.out.printf("%s, %,d x %,d = %,d weights (%s kernel)%n", tensor, sample.rows(), sample.cols(),
            rows.get(0).weights(), kernel);
        System.out.printf("%-18s %8s %10s %9s %12s %9s%n", "codec", "bits/w", "rel_error", "snr_db", "max_abs_err",
            "encode_s");
        for (CodecComparison.Row r : rows) {
          System.out.printf("%-18s %8.3f %10.5f %9.2f %12.5g %9.2f%n", r.codec(), r.bitsPerWeight(),
              r.stats().relativeError(), r.stats().snrDb(), r.stats().maxAbsErr(), r.seconds());
        }
        System.out.println();
      }
      if (eval) {
        evaluate(ck, list);
      }
    }
    return Cli.OK;
  }
}
