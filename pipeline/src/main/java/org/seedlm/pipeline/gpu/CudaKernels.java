package org.seedlm.pipeline.gpu;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;
import org.seedlm.pipeline.codec.SeedBasis;
import org.seedlm.pipeline.codec.SeedChoice;
import org.seedlm.pipeline.codec.SeedLmParams;

/**
 * The CUDA kernels of {@code cuda/seedlm_kernels.cu} through the driver API (JCuda): loads the
 * fatbin packaged as the resource {@value #FATBIN} (sm_90 code + compute_90 PTX, built by {@code
 * deploy/build-cuda} during the Maven build when nvcc is present), uploads each config's tables
 * once ({@link SeedBasis#uf()}, {@link SeedBasis#pinv()}, {@link SeedBasis#u()}: the CPU's own
 * values), and runs on device buffers. Every driver call is checked: JCuda's exceptions are enabled,
 * so any return code other than CUDA_SUCCESS throws {@code jcuda.CudaException} naming it.
 *
 * <p>One instance per device ordinal and thread of use; methods are synchronized (one context).
 */
public final class CudaKernels implements SeedLmAccelerator {
  static final String FATBIN = "/org/seedlm/pipeline/gpu/seedlm.fatbin";
  private static final int DECODE_THREADS = 256;
  private static final int SEARCH_THREADS = 256; // power of two (the kernel's reduction)

  private final int ordinal;
  private final String description;
  private final CUdevice device = new CUdevice();
  private final CUcontext context = new CUcontext();
  private final CUmodule module = new CUmodule();
  private final CUfunction decodeFn = new CUfunction();
  private final CUfunction searchFn = new CUfunction();
  private final Map<SeedLmParams, CUdeviceptr[]> tables = new HashMap<>(); // uf, pinv, u

  /**
   * Opens device {@code ordinal}.
   *
   * @throws IllegalStateException with the reason when there is no fatbin, no libcuda or no such
   *     device (callers turn it into a fallback or a user error, see {@link Devices})
   */
  public CudaKernels(int ordinal) {
    this.ordinal = ordinal;
    byte[] fatbin = readFatbin();
    try {
      JCudaDriver.setExceptionsEnabled(true);
      cuInit(0);
    } catch (LinkageError e) {
      throw new IllegalStateException(linkFailure(String.valueOf(e.getMessage())), e);
    } catch (RuntimeException e) {
      throw new IllegalStateException("cuInit failed: " + e.getMessage(), e);
    }
    int[] count = {0};
    cuDeviceGetCount(count);
    if (ordinal < 0 || ordinal >= count[0]) {
      throw new IllegalStateException("no CUDA device " + ordinal + " (" + count[0] + " present)");
    }
    cuDeviceGet(device, ordinal);
    byte[] name = new byte[256];
    cuDeviceGetName(name, name.length, device);
    int[] driver = {0};
    cuDriverGetVersion(driver);
    int len = 0;
    while (len < name.length && name[len] != 0) len++;
    this.description = "cuda:" + ordinal + " (" + new String(name, 0, len, java.nio.charset.StandardCharsets.US_ASCII)
        + ", driver " + driver[0] + ")";
    cuDevicePrimaryCtxRetain(context, device);
    cuCtxSetCurrent(context);
    cuModuleLoadData(module, fatbin);
    cuModuleGetFunction(decodeFn, module, "slm_decode");
    cuModuleGetFunction(searchFn, module, "slm_search");
  }

  /** One line for JCuda's (multi-line) native-library failure. */
  static String linkFailure(String message) {
    if (message.contains("libcuda.so.1: cannot open shared object file")) {
      return "libcuda.so.1 (the NVIDIA driver library) cannot be loaded: no NVIDIA driver on this machine";
    }
    int nl = message.indexOf('\n');
    return "the JCuda driver natives cannot be loaded: " + (nl < 0 ? message : message.substring(0, nl));
  }

  /** The packaged fatbin, or an IllegalStateException saying the build had no nvcc. */
  static byte[] readFatbin() {
    try (InputStream in = CudaKernels.class.getResourceAsStream(FATBIN)) {
      if (in == null) {
        throw new IllegalStateException("this build has no CUDA kernels (" + FATBIN
            + " is built only where nvcc is on PATH: rebuild with nvcc, see README, GPU)");
      }
      byte[] b = in.readAllBytes();
      return Arrays.copyOf(b, b.length + 1); // NUL-terminated, as cuModuleLoadData accepts any image
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + FATBIN + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String describe() {
    return description;
  }

  public int ordinal() {
    return ordinal;
  }

  private CUdeviceptr[] tables(SeedLmParams p) {
    return tables.computeIfAbsent(p, x -> {
      SeedBasis b = SeedBasis.of(x);
      return new CUdeviceptr[] {upload(b.uf()), upload(b.pinv()), upload(b.u())};
    });
  }

  @Override
  public synchronized float[] decodeTensor(
      SeedLmParams p, byte[] packed, long blocks, long numel, byte[] offsets, int groupSize) {
    if (numel < 0 || blocks != (numel + p.c() - 1) / p.c() || packed.length * 8L < blocks * p.bitsPerBlock()) {
      throw new IllegalArgumentException(String.format(
          "Cannot decode tensor: %d blocks of C=%d in %d bytes do not hold %d weights", blocks, p.c(), packed.length, numel));
    }
    float[] out = new float[Math.toIntExact(numel)];
    if (numel == 0) return out;
    cuCtxSetCurrent(context);
    CUdeviceptr[] t = tables(p);
    CUdeviceptr dPacked = upload(packed);
    CUdeviceptr dOff = offsets == null ? null : upload(offsets); // null: version 1
    CUdeviceptr dOut = alloc(numel * 4L);
    CUdeviceptr dBad = upload(new long[] {-1L}); // ULLONG_MAX: no seed-0 block
    try {
      long grid = Math.min((numel + DECODE_THREADS - 1) / DECODE_THREADS, 1 << 20);
      Pointer args = Pointer.to(Pointer.to(dPacked), Pointer.to(new long[] {packed.length}), Pointer.to(new long[] {numel}),
          Pointer.to(new int[] {p.c()}), Pointer.to(new int[] {p.p()}), Pointer.to(new int[] {p.k()}), Pointer.to(t[0]),
          ptrArg(dOff), Pointer.to(new int[] {Math.max(1, groupSize)}), Pointer.to(dOut), Pointer.to(dBad));
      cuLaunchKernel(decodeFn, (int) grid, 1, 1, DECODE_THREADS, 1, 1, 0, null, args, null);
      cuCtxSynchronize();
      long[] bad = {0};
      cuMemcpyDtoH(Pointer.to(bad), dBad, 8);
      if (bad[0] != -1L) {
        throw new IllegalArgumentException(String.format(
            "Cannot decode SeedLM block %d (%s): seed 0 is not a valid seed", bad[0] - 1, p.name()));
      }
      cuMemcpyDtoH(Pointer.to(out), dOut, numel * 4L);
      return out;
    } finally {
      free(dPacked, dOff, dOut, dBad);
    }
  }

  @Override
  public synchronized SeedChoice[] search(
      SeedLmParams p, float[] w, int off, int nBlocks, byte[] offsets, int groupSize, int rule) {
    int c = p.c();
    if (nBlocks < 0 || off < 0 || (long) off + (long) nBlocks * c > w.length) {
      throw new IllegalArgumentException(
          "Cannot search " + nBlocks + " blocks at offset " + off + ": weight array has " + w.length);
    }
    for (int i = off; i < off + nBlocks * c; i++) {
      if (!Float.isFinite(w[i])) {
        throw new IllegalArgumentException("Cannot encode block " + (i - off) / c + ": weight " + w[i] + " is not finite");
      }
    }
    SeedChoice[] res = new SeedChoice[nBlocks];
    if (nBlocks == 0) return res;
    cuCtxSetCurrent(context);
    CUdeviceptr[] t = tables(p);
    CUdeviceptr dW = upload(Arrays.copyOfRange(w, off, off + nBlocks * c));
    CUdeviceptr dOff = offsets == null ? null : upload(offsets); // null: version 1
    CUdeviceptr dSeed = alloc(4L * nBlocks), dE = alloc(4L * nBlocks), dQ = alloc(4L * nBlocks * p.p());
    CUdeviceptr dErr = alloc(8L * nBlocks);
    try {
      Pointer args = Pointer.to(Pointer.to(dW), Pointer.to(new int[] {nBlocks}), Pointer.to(new int[] {c}),
          Pointer.to(new int[] {p.p()}), Pointer.to(new int[] {p.k()}), Pointer.to(t[1]), Pointer.to(t[2]), ptrArg(dOff),
          Pointer.to(new int[] {Math.max(1, groupSize)}), Pointer.to(new int[] {rule}), Pointer.to(dSeed), Pointer.to(dE),
          Pointer.to(dQ), Pointer.to(dErr));
      int shmem = c * 8 + SEARCH_THREADS * 12;
      cuLaunchKernel(searchFn, Math.min(nBlocks, 65535), 1, 1, SEARCH_THREADS, 1, 1, shmem, null, args, null);
      cuCtxSynchronize();
      int[] seed = new int[nBlocks], e = new int[nBlocks], q = new int[nBlocks * p.p()];
      double[] err = new double[nBlocks];
      cuMemcpyDtoH(Pointer.to(seed), dSeed, 4L * nBlocks);
      cuMemcpyDtoH(Pointer.to(e), dE, 4L * nBlocks);
      cuMemcpyDtoH(Pointer.to(q), dQ, 4L * q.length);
      cuMemcpyDtoH(Pointer.to(err), dErr, 8L * nBlocks);
      for (int b = 0; b < nBlocks; b++) {
        res[b] = new SeedChoice(seed[b], e[b], Arrays.copyOfRange(q, b * p.p(), (b + 1) * p.p()), err[b]);
      }
      return res;
    } finally {
      free(dW, dOff, dSeed, dE, dQ, dErr);
    }
  }

  private static CUdeviceptr alloc(long bytes) {
    CUdeviceptr d = new CUdeviceptr();
    cuMemAlloc(d, Math.max(bytes, 1));
    return d;
  }

  private static CUdeviceptr upload(byte[] a) {
    CUdeviceptr d = alloc(a.length);
    if (a.length > 0) cuMemcpyHtoD(d, Pointer.to(a), a.length);
    return d;
  }

  private static CUdeviceptr upload(float[] a) {
    CUdeviceptr d = alloc(4L * a.length);
    cuMemcpyHtoD(d, Pointer.to(a), 4L * a.length);
    return d;
  }

  private static CUdeviceptr upload(double[] a) {
    CUdeviceptr d = alloc(8L * a.length);
    cuMemcpyHtoD(d, Pointer.to(a), 8L * a.length);
    return d;
  }

  private static CUdeviceptr upload(long[] a) {
    CUdeviceptr d = alloc(8L * a.length);
    cuMemcpyHtoD(d, Pointer.to(a), 8L * a.length);
    return d;
  }

  /** A pointer kernel argument; null passes a null device pointer. */
  private static Pointer ptrArg(CUdeviceptr d) {
    return d == null ? Pointer.to(new long[] {0L}) : Pointer.to(d);
  }

  private static void free(CUdeviceptr... ps) {
    for (CUdeviceptr d : ps) {
      if (d != null) cuMemFree(d);
    }
  }

  @Override
  public synchronized void close() {
    cuCtxSetCurrent(context);
    for (CUdeviceptr[] t : tables.values()) free(t);
    tables.clear();
    cuModuleUnload(module);
    cuDevicePrimaryCtxRelease(device);
  }
}
