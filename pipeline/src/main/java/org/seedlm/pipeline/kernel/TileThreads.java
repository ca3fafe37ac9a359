package org.seedlm.pipeline.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The thread pool of {@link FastSeedSearch}: {@code min(threads, tiles)} threads (the calling
 * thread alone when that is 1) take tile numbers from one shared counter until none is left; each
 * thread makes its own worker (per-thread scratch), and the workers are returned for their counters.
 */
final class TileThreads {
  private TileThreads() {}

  /** Work on one tile at a time. */
  interface Worker {
    void tile(int tile);
  }

  static <W extends Worker> Object[] run(int threads, int nTiles, Supplier<W> newWorker) {
    AtomicInteger next = new AtomicInteger();
    int nt = Math.max(1, Math.min(threads, nTiles));
    Object[] workers = new Object[nt];
    Runnable[] jobs = new Runnable[nt];
    for (int t = 0; t < nt; t++) {
      final int id = t;
      jobs[t] =
          () -> {
            W wk = newWorker.get();
            int tile;
            while ((tile = next.getAndIncrement()) < nTiles) wk.tile(tile);
            workers[id] = wk;
          };
    }
    if (nt == 1) jobs[0].run();
    else {
      Thread[] th = new Thread[nt];
      for (int t = 0; t < nt; t++) {
        th[t] = new Thread(jobs[t], "seed-search-" + t);
        th[t].start();
      }
      for (Thread t : th) {
        try {
          t.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new RuntimeException(e);
        }
      }
    }
    return workers;
  }
}
