package org.seedlm.pipeline.eval.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.seedlm.pipeline.codec.Int8RowCodec;
import org.seedlm.pipeline.run.TensorSelection;
import org.seedlm.pipeline.safetensors.Checkpoint;
import org.seedlm.pipeline.safetensors.TensorInfo;
import org.seedlm.pipeline.tools.DecodedModel;

class DecodedModelTest {

  @Test
  void stories260KDecodedInMemory() throws IOException {
    java.nio.file.Path dir = Stories260KTest.sharedModel("stories260K");
    Assumptions.assumeTrue(dir != null, "../shared/models/stories260K is absent: skipping");
    Configuration conf = new Configuration();
    Int8RowCodec codec = new Int8RowCodec(Int8RowCodec.NO_OUTLIERS);
    String q = "model.layers.0.self_attn.q_proj.weight";
    String norm = "model.layers.0.input_layernorm.weight";
    try (Checkpoint ck = Checkpoint.open(new Path(dir.toString()), conf)) {
      DecodedModel m = DecodedModel.encode(ck, TensorSelection.defaults(), codec);
      assertEquals(35, m.tensors(), "7 linear weights in each of 5 blocks");
      // no outliers: 4 + ceil(cols/8) header bytes and rows x (2 + cols) bytes of RTN blocks per tensor
      long bytes = 0;
      long weights = 0;
      for (Checkpoint.Tensor t : ck.tensors().values()) {
        TensorInfo i = t.info();
        if (i.rank() == 2 && TensorSelection.defaults().selects(i)) {
          long rows = i.shape()[0];
          long cols = i.shape()[1];
          bytes += 4 + (cols + 7) / 8 + rows * (2 + cols);
          weights += rows * cols;
        }
      }
      assertEquals(8.0 * bytes / weights, m.bitsPerWeight(), 1e-12);
      assertTrue(m.stats().relativeError() < 0.01, "int8 relative error " + m.stats().relativeError());
      try (LlamaWeights original = LlamaWeights.checkpoint(conf, new Path(dir.toString()));
          LlamaWeights decoded = m.llama(LlamaWeights.checkpoint(conf, new Path(dir.toString())))) {
        float[] w = original.read(q);
        assertArrayEquals(codec.decode(codec.encode(w, 64, 64), 64, 64), decoded.read(q));
        float[] rows = new float[2 * 64];
        decoded.readRows(q, 3, 2, 64, rows, 0);
        assertArrayEquals(java.util.Arrays.copyOfRange(decoded.read(q), 3 * 64, 5 * 64), rows);
        assertArrayEquals(original.read(norm), decoded.read(norm), "kept tensors come from the checkpoint");
      }
    }
  }
}
