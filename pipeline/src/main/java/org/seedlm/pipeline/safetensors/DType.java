package org.seedlm.pipeline.safetensors;

import java.util.Locale;

/**
 * Safetensors element types. Only {@link #F32}, {@link #F16} and {@link #BF16} hold weights that can
 * be quantized; the others are recognized so that any valid file can be listed and copied. The FP8
 * types ({@link #F8_E4M3}, {@link #F8_E5M2}) can be read as floats (exactly: every FP8 value is a
 * float), but are not quantized: FP8 checkpoints store per-block scales in separate tensors
 * ({@code weight_scale_inv}), so the raw values are not the weights; such tensors are kept as stored.
 */
public enum DType {
  F64(8, true), F32(4, true), F16(2, true), BF16(2, true),
  F8_E4M3(1, true), F8_E5M2(1, true),
  I64(8, false), I32(4, false), I16(2, false), I8(1, false), U8(1, false), BOOL(1, false);

  private final int size;
  private final boolean floating;

  DType(int size, boolean floating) {
    this.size = size;
    this.floating = floating;
  }

  /** Bytes per element. */
  public int size() {
    return size;
  }

  /**
   * Whether values of this type can be read as floats ({@code F64} is read with rounding to float, the
   * others exactly).
   */
  public boolean isFloating() {
    return floating;
  }

  /** Whether this dtype holds quantizable weights (F32, F16, BF16). */
  public boolean isWeight() {
    return this == F32 || this == F16 || this == BF16;
  }

  /**
   * Parses a safetensors dtype name exactly as written in a header.
   *
   * @throws IllegalArgumentException naming the dtype and the supported names
   */
  public static DType parse(String name) {
    for (DType d : values()) {
      if (d.name().equals(name)) {
        return d;
      }
    }
    throw new IllegalArgumentException(String.format(Locale.ROOT,
        "unknown dtype \"%s\" (supported: %s)", name, java.util.Arrays.toString(values())));
  }
}
