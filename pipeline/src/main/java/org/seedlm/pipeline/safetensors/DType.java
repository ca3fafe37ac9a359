package org.seedlm.pipeline.safetensors;

import java.util.Locale;

/**
 * Safetensors element types. Only {@link #F32}, {@link #F16} and {@link #BF16} hold weights that can
 * be quantized; the others are recognized so that any valid file can be listed and copied.
 */
public enum DType {
  F64(8, true), F32(4, true), F16(2, true), BF16(2, true),
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

  /** Whether values of this type can be read as floats ({@code F64} is read with rounding to float). */
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
        "unknown dtype \"%s\" (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)", name));
  }
}
