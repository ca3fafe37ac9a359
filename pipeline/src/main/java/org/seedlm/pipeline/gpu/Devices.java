package org.seedlm.pipeline.gpu;

import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.seedlm.pipeline.BadInputException;

/**
 * Picks where SeedLM kernels run: {@code --device cpu|gpu|auto} (conf key {@code device}, default
 * {@value #DEFAULT}). {@code cpu}: the CPU kernels. {@code gpu}: the CUDA kernels on the given
 * device, or a {@link BadInputException} saying why there is none (no fatbin in this build, no
 * libcuda, no device). {@code auto}: the CUDA kernels when they open, else the CPU kernels, and the
 * reason is logged once per JVM.
 *
 * <p>The device ordinal comes from the caller: in a Spark task, the GPU address Spark assigned to it
 * ({@code TaskContext.resources().get("gpu")}); in local mode or outside Spark, {@code
 * --gpu-ordinal} (default 0). Opened devices are kept per ordinal for the JVM's life (one context
 * each; an executor reuses it for all its tasks).
 */
public final class Devices {
  private Devices() {}

  public static final String CPU = "cpu";
  public static final String GPU = "gpu";
  public static final String AUTO = "auto";
  public static final String DEFAULT = AUTO;

  private static final ConcurrentHashMap<Integer, Object> OPENED = new ConcurrentHashMap<>(); // CudaKernels or reason
  private static final java.util.Set<String> LOGGED = ConcurrentHashMap.newKeySet();

  /** Checks a {@code --device} value; returns it lower-cased. */
  public static String check(String device) {
    String d = device == null ? "" : device.trim().toLowerCase(Locale.ROOT);
    if (!d.equals(CPU) && !d.equals(GPU) && !d.equals(AUTO)) {
      throw new BadInputException(String.format(
          "Cannot use device \"%s\": expected cpu, gpu or auto (set --device)", device));
    }
    return d;
  }

  /**
   * The accelerator for {@code device} on GPU {@code ordinal}, or empty for the CPU path.
   *
   * @param log receives the one line saying why {@code auto} runs on the CPU (once per reason)
   * @throws BadInputException for {@code gpu} when no GPU can be used, naming the reason
   */
  public static Optional<SeedLmAccelerator> open(String device, int ordinal, Consumer<String> log) {
    String d = check(device);
    if (d.equals(CPU)) return Optional.empty();
    Object o = OPENED.computeIfAbsent(ordinal, Devices::tryOpen);
    if (o instanceof SeedLmAccelerator a) return Optional.of(a);
    String reason = (String) o;
    if (d.equals(GPU)) {
      throw new BadInputException("Cannot use --device gpu: " + reason + " (use --device cpu or auto)");
    }
    if (LOGGED.add(reason)) log.accept("device auto: running SeedLM kernels on the CPU: " + reason);
    return Optional.empty();
  }

  private static Object tryOpen(int ordinal) {
    try {
      return new CudaKernels(ordinal);
    } catch (IllegalStateException | jcuda.CudaException e) {
      return e.getMessage();
    } catch (LinkageError e) {
      return CudaKernels.linkFailure(String.valueOf(e.getMessage()));
    }
  }
}
