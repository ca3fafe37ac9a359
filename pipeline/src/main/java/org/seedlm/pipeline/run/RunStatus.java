package org.seedlm.pipeline.run;

import java.io.IOException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;

/**
 * Progress of a run read from its directory alone: units done, failed and pending, throughput
 * and an estimate of the time left.
 *
 * @param units planned units
 * @param committed committed units
 * @param failed units whose last attempt failed and that are not committed
 * @param pending units neither committed nor failed
 * @param blocks planned blocks
 * @param blocksDone blocks in committed units
 * @param blocksPerSecond committed blocks divided by the wall time from the first unit's start to the
 *     last commit (0 if nothing is committed)
 * @param etaSeconds remaining blocks at that rate (NaN if unknown)
 * @param failures the failures, in unit order
 * @param assembled whether packed/manifest.json exists
 */
public record RunStatus(int units, int committed, int failed, int pending, long blocks, long blocksDone,
    double blocksPerSecond, double etaSeconds, List<UnitFailure> failures, boolean assembled) {

  public static RunStatus of(RunDirectory run) throws IOException {
    Plan plan = run.readPlan();
    Map<Integer, CommitMarker> commits = run.readCommits();
    BitSet failedIds = run.failedUnits();
    long done = 0;
    double firstStart = Double.POSITIVE_INFINITY;
    double lastEnd = Double.NEGATIVE_INFINITY;
    for (CommitMarker m : commits.values()) {
      done += m.rows();
      firstStart = Math.min(firstStart, m.finishedAtMillis() / 1000.0 - m.seconds());
      lastEnd = Math.max(lastEnd, m.finishedAtMillis() / 1000.0);
    }
    List<UnitFailure> failures = new ArrayList<>();
    for (int i = failedIds.nextSetBit(0); i >= 0; i = failedIds.nextSetBit(i + 1)) {
      if (!commits.containsKey(i) && i < plan.numUnits()) {
        failures.add(run.readFailure(i));
      }
    }
    double rate = commits.isEmpty() ? 0 : done / Math.max(1e-3, lastEnd - firstStart);
    long blocks = plan.numBlocks();
    double eta = rate > 0 ? (blocks - done) / rate : Double.NaN;
    int committed = commits.size();
    boolean assembled = run.fs().exists(run.path(RunDirectory.PACKED + "/"
        + org.seedlm.pipeline.pack.PackedFormat.MANIFEST));
    return new RunStatus(plan.numUnits(), committed, failures.size(),
        plan.numUnits() - committed - failures.size(), blocks, done, rate, eta, failures, assembled);
  }
}
