package org.seedlm.pipeline.run;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.seedlm.pipeline.codec.BlockCodec;
import org.seedlm.pipeline.codec.Codecs;
import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.SeedLmCodec;
import org.seedlm.pipeline.codec.TensorCodecs;

/**
 * The fields of a stored block {@code code} that the {@code blocks} view shows as columns (seed, exponent,
 * mantissas), read with the codec's own block reader ({@link SeedLmCodec#readBlock}), the one place that knows
 * the bit layout. For a codec other than SeedLM (a tensor-level codec included) every field is null (mantissas:
 * empty).
 */
public final class BlockFields implements Serializable {
  private final String codecName;
  private transient SeedLmCodec seedLm;
  private transient boolean resolved;

  public BlockFields(String codecName) {
    this.codecName = codecName;
  }

  public Integer seed(byte[] code) {
    SeedChoice c = read(code);
    return c == null ? null : c.seed();
  }

  public Integer exponent(byte[] code) {
    SeedChoice c = read(code);
    return c == null ? null : c.exponent();
  }

  public List<Integer> mantissas(byte[] code) {
    SeedChoice c = read(code);
    List<Integer> out = new ArrayList<>();
    if (c != null) {
      for (int q : c.q()) {
        out.add(q);
      }
    }
    return out;
  }

  private SeedChoice read(byte[] code) {
    if (!resolved) {
      // a tensor-level codec's row holds a whole encoded tensor: no block fields
      BlockCodec codec = TensorCodecs.isTensorCodecName(codecName) ? null : Codecs.parse(codecName);
      seedLm = codec instanceof SeedLmCodec s ? s : null;
      resolved = true;
    }
    return seedLm == null || code == null ? null : seedLm.readBlock(code, 0);
  }
}
