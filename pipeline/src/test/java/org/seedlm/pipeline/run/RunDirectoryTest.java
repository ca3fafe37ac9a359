package org.seedlm.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileNotFoundException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.safetensors.DType;
import org.seedlm.pipeline.safetensors.TensorInfo;

class RunDirectoryTest {

  static Plan smallPlan() {
    List<Planner.SourceTensor> src = List.of(
        new Planner.SourceTensor("model.safetensors",
            new TensorInfo("model.layers.0.mlp.up_proj.weight", DType.F32, new long[] {7, 13}, 0, 364)),
        new Planner.SourceTensor("model.safetensors",
            new TensorInfo("model.layers.1.mlp.up_proj.weight", DType.F32, new long[] {4, 8}, 364, 492)),
        new Planner.SourceTensor("model.safetensors",
            new TensorInfo("model.norm.weight", DType.F32, new long[] {13}, 492, 544)));
    return Planner.plan(src, TensorSelection.defaults(), 8, 8); // units: 8 + 4 blocks, then 4 blocks
  }

  static CommitMarker marker(int unit, String attempt) {
    return new CommitMarker(unit, "t", 0, 8, "blocks/x/" + attempt + ".parquet", 100, "00", 64, 1.0, 2.0, 0.5,
        0.01, 1_000_000L + unit, attempt, "11".repeat(32));
  }

  @Test
  void initOrCheckWritesOnceAndRefusesAnotherSpec(@TempDir java.nio.file.Path dir) throws Exception {
    RunDirectory run = RunDirectory.at(dir.toString(), new Configuration());
    assertFalse(run.exists());
    FileNotFoundException nf = assertThrows(FileNotFoundException.class, run::readSpec);
    assertTrue(nf.getMessage().contains("seedlm quantize"), nf.getMessage());
    RunSpec spec = RunSpecTest.spec();
    run.initOrCheck(spec);
    assertTrue(run.exists());
    assertEquals(spec, run.readSpec());
    String stored = Files.readString(dir.resolve(RunDirectory.SPEC));
    run.initOrCheck(spec); // same spec: accepted, file untouched
    assertEquals(stored, Files.readString(dir.resolve(RunDirectory.SPEC)));

    RunSpec other = RunSpecTest.with(spec, spec.model(), spec.modelFingerprint(), "seedlm-3bit",
        spec.codecParams(), spec.include(), spec.exclude(), spec.unitBlocks(), spec.nonFinite());
    RunMismatchException e = assertThrows(RunMismatchException.class, () -> run.initOrCheck(other));
    assertTrue(e.getMessage().contains("codec: the run has seedlm-4bit, this command asks for seedlm-3bit"),
        e.getMessage());
    assertTrue(e.getMessage().contains("Use a new run directory"), e.getMessage());
    assertEquals(spec, run.readSpec());
    // No temporary files are left behind.
    try (var s = Files.list(dir)) {
      assertEquals(List.of(RunDirectory.SPEC), s.map(p -> p.getFileName().toString())
          .filter(n -> !n.startsWith(".")).toList()); // .crc files of the local file system
    }
  }

  @Test
  void writeOrCheckPlan(@TempDir java.nio.file.Path dir) throws Exception {
    RunDirectory run = RunDirectory.at(dir.toString(), new Configuration());
    assertThrows(FileNotFoundException.class, run::readPlan);
    Plan plan = smallPlan();
    assertEquals(plan, run.writeOrCheckPlan(plan));
    assertEquals(plan, run.readPlan());
    assertEquals(plan, run.writeOrCheckPlan(smallPlan()));
    Plan other = Planner.plan(List.of(new Planner.SourceTensor("model.safetensors",
        new TensorInfo("model.layers.0.mlp.up_proj.weight", DType.F32, new long[] {7, 13}, 0, 364))),
        TensorSelection.defaults(), 8, 16);
    RunMismatchException e = assertThrows(RunMismatchException.class, () -> run.writeOrCheckPlan(other));
    assertTrue(e.getMessage().contains(RunDirectory.PLAN), e.getMessage());
    assertEquals(plan, run.readPlan());
  }

  @Test
  void commitPublishesExactlyOnce(@TempDir java.nio.file.Path dir) throws Exception {
    RunDirectory run = RunDirectory.at(dir.toString(), new Configuration());
    Plan plan = smallPlan();
    run.writeOrCheckPlan(plan);
    assertEquals(3, plan.numUnits());
    assertEquals(List.of(0, 1, 2), run.pendingUnits(plan).stream().map(WorkUnit::id).toList());

    run.recordFailure(new UnitFailure(1, "model.layers.0.mlp.up_proj.weight", "boom", false, 5L, "a0"));
    assertTrue(run.failedUnits().get(1));
    assertEquals(new UnitFailure(1, "model.layers.0.mlp.up_proj.weight", "boom", false, 5L, "a0"),
        run.readFailure(1));

    assertTrue(run.commit(marker(1, "first")));
    assertFalse(run.commit(marker(1, "second")));
    assertEquals(marker(1, "first"), run.readCommit(1));
    assertFalse(run.failedUnits().get(1), "a commit clears the unit's failure record");
    assertTrue(run.committedUnits().get(1));
    assertEquals(1, run.committedUnits().cardinality());
    assertEquals(List.of(0, 2), run.pendingUnits(plan).stream().map(WorkUnit::id).toList());
    assertEquals(Map.of(1, marker(1, "first")), run.readCommits());
    // Only the final marker remains under commits/ (the temporary one of the losing attempt is gone).
    assertEquals(List.of("unit-00000001.json"), listNames(dir.resolve(RunDirectory.COMMITS)));
  }

  private static List<String> listNames(java.nio.file.Path d) throws Exception {
    try (var s = Files.list(d)) {
      return s.filter(Files::isRegularFile).map(p -> p.getFileName().toString())
          .filter(n -> !n.startsWith(".")).sorted().toList();
    }
  }

  @Test
  void statusCountsCommittedFailedPending(@TempDir java.nio.file.Path dir) throws Exception {
    RunDirectory run = RunDirectory.at(dir.toString(), new Configuration());
    Plan plan = smallPlan();
    run.writeOrCheckPlan(plan);
    RunStatus s0 = RunStatus.of(run);
    assertEquals(3, s0.units());
    assertEquals(0, s0.committed());
    assertEquals(0, s0.failed());
    assertEquals(3, s0.pending());
    assertEquals(16, s0.blocks());
    assertEquals(0, s0.blocksDone());
    assertEquals(0.0, s0.blocksPerSecond());
    assertTrue(Double.isNaN(s0.etaSeconds()));
    assertFalse(s0.assembled());

    run.commit(new CommitMarker(0, "model.layers.0.mlp.up_proj.weight", 0, 8, "f", 1, "00", 64, 0, 0, 0, 2.0,
        10_000L, "a", "11".repeat(32)));
    run.recordFailure(new UnitFailure(2, "model.layers.1.mlp.up_proj.weight", "disk full", false, 1L, "b"));
    RunStatus s1 = RunStatus.of(run);
    assertEquals(1, s1.committed());
    assertEquals(1, s1.failed());
    assertEquals(1, s1.pending());
    assertEquals(8, s1.blocksDone());
    assertEquals(4.0, s1.blocksPerSecond(), 1e-9); // 8 blocks in 2 s
    assertEquals(2.0, s1.etaSeconds(), 1e-9); // 8 blocks left
    assertEquals(List.of("disk full"), s1.failures().stream().map(UnitFailure::message).toList());

    // A failure record of a committed unit does not count as failed.
    run.recordFailure(new UnitFailure(0, "model.layers.0.mlp.up_proj.weight", "late", false, 1L, "c"));
    RunStatus s2 = RunStatus.of(run);
    assertEquals(1, s2.committed());
    assertEquals(1, s2.failed());
    assertEquals(1, s2.pending());
  }

  /** Concurrent attempts on the same unit: exactly one commit() call may return true. */
  @Test
  void concurrentCommitsOfOneUnitPublishOnce(@TempDir java.nio.file.Path dir) throws Exception {
    RunDirectory run = RunDirectory.at(dir.toString(), new Configuration());
    run.fs().mkdirs(run.path(RunDirectory.COMMITS));
    int units = 40;
    int threads = 4;
    java.util.concurrent.atomic.AtomicInteger[] wins = new java.util.concurrent.atomic.AtomicInteger[units];
    for (int u = 0; u < units; u++) {
      wins[u] = new java.util.concurrent.atomic.AtomicInteger();
    }
    java.util.concurrent.CyclicBarrier barrier = new java.util.concurrent.CyclicBarrier(threads);
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
    List<java.util.concurrent.Future<?>> fs = new java.util.ArrayList<>();
    for (int t = 0; t < threads; t++) {
      String attempt = "a" + t;
      fs.add(pool.submit(() -> {
        for (int u = 0; u < units; u++) {
          barrier.await();
          if (run.commit(marker(u, attempt))) {
            wins[u].incrementAndGet();
          }
        }
        return null;
      }));
    }
    for (var f : fs) {
      f.get();
    }
    pool.shutdown();
    List<Integer> trues = new java.util.ArrayList<>();
    for (int u = 0; u < units; u++) {
      trues.add(wins[u].get());
    }
    assertEquals(java.util.Collections.nCopies(units, 1), trues, "commit() calls that returned true, per unit");
  }

  /** Publishing onto an existing marker never replaces it, even on the local file system. */
  @Test
  void publishingNeverReplacesAnExistingMarker(@TempDir java.nio.file.Path dir) throws Exception {
    RunDirectory run = RunDirectory.at(dir.toString(), new Configuration());
    run.writeJson(run.commitPath(0), marker(0, "first"));
    org.apache.hadoop.fs.Path tmp = run.path(RunDirectory.COMMITS + "/_tmp/unit-00000000.json.second");
    byte[] second = RunDirectory.json().writeValueAsBytes(marker(0, "second"));
    assertFalse(run.createExclusive(run.commitPath(0), tmp, second), "publishing replaced an existing commit marker");
    assertEquals(marker(0, "first"), run.readCommit(0));
    assertFalse(run.fs().exists(tmp));
  }

  /** A run directory in {@code dir} with units 0 .. n-1 committed (attempts a0, a1, ...). */
  private static RunDirectory withCommittedUnits(java.nio.file.Path dir, int n) throws Exception {
    RunDirectory run = RunDirectory.at(dir.toString(), new Configuration());
    for (int u = 0; u < n; u++) {
      assertTrue(run.commit(marker(u, "a" + u)));
    }
    return run;
  }

  @Test
  void theCommitIndexHoldsEveryMarkerOfACompleteRunAndIsReadInsteadOfTheListing(@TempDir java.nio.file.Path dir)
      throws Exception {
    RunDirectory run = withCommittedUnits(dir, 3);
    // 4 units in the plan, 3 committed: no index
    assertFalse(run.writeCommitIndex(4));
    assertFalse(run.hasCommitIndex());
    assertTrue(run.commit(marker(3, "a3")));
    Map<Integer, CommitMarker> fromMarkers = run.readCommits();
    assertTrue(run.writeCommitIndex(4));
    assertEquals(fromMarkers, run.readCommits());
    // Read from the index, not from the markers: with commits/ gone the same markers come back (one GET).
    java.nio.file.Path commits = dir.resolve(RunDirectory.COMMITS);
    java.nio.file.Path aside = dir.resolve("commits-aside");
    Files.move(commits, aside);
    assertEquals(fromMarkers, run.readCommits());
    Files.move(aside, commits);
    // Deleted (as quantize does before computing units again): the markers are read again.
    run.deleteCommitIndex();
    assertFalse(run.hasCommitIndex());
    assertEquals(fromMarkers, run.readCommits());
    // An index that does not list every unit is refused with what to do.
    Files.writeString(dir.resolve(CommitIndex.VERSION_1_FILE),
        "{\"format\":\"seedlm-commit-index\",\"version\":1,\"units\":5,\"markers\":{}}");
    org.seedlm.pipeline.BadInputException e = assertThrows(org.seedlm.pipeline.BadInputException.class,
        run::readCommits);
    assertTrue(e.getMessage().contains("delete it"), e.getMessage());
  }

  @Test
  void theCommitIndexIsGzipJsonWithOneArrayPerMarkerAndReadsBackExactly(@TempDir java.nio.file.Path dir)
      throws Exception {
    RunDirectory run = withCommittedUnits(dir, 3);
    Map<Integer, CommitMarker> fromMarkers = run.readCommits();
    assertTrue(run.writeCommitIndex(3));
    // A separate reader: plain gzip and a JSON tree, no seedlm code.
    com.fasterxml.jackson.databind.JsonNode tree;
    try (var in = new java.util.zip.GZIPInputStream(Files.newInputStream(dir.resolve("commit-index.json.gz")))) {
      tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(in);
    }
    assertEquals("seedlm-commit-index", tree.get("format").asText());
    assertEquals(2, tree.get("version").asInt());
    assertEquals(3, tree.get("units").asInt());
    List<String> components = java.util.Arrays.stream(CommitMarker.class.getRecordComponents())
        .map(java.lang.reflect.RecordComponent::getName).toList();
    List<String> fields = new ArrayList<>();
    tree.get("fields").forEach(f -> fields.add(f.asText()));
    assertEquals(components, fields, "every marker field, in record order");
    assertEquals(3, tree.get("markers").size());
    com.fasterxml.jackson.databind.JsonNode second = tree.get("markers").get(1);
    assertEquals(components.size(), second.size());
    assertEquals(1, second.get(0).asInt());
    assertEquals(marker(1, "a1").tensor(), second.get(fields.indexOf("tensor")).asText());
    assertEquals("a1", second.get(fields.indexOf("attempt")).asText());
    // Read back exactly, without the markers.
    java.nio.file.Path commits = dir.resolve(RunDirectory.COMMITS);
    Files.move(commits, dir.resolve("commits-aside"));
    assertEquals(fromMarkers, run.readCommits());
    // A version 1 index (indented objects keyed by unit) is still read; writing the new one removes it.
    run.writeJson(run.path(CommitIndex.VERSION_1_FILE), new CommitIndex.Version1(CommitIndex.FORMAT, 1, 3,
        new java.util.TreeMap<>(fromMarkers)));
    Files.delete(dir.resolve(RunDirectory.COMMIT_INDEX));
    assertTrue(run.hasCommitIndex());
    assertEquals(fromMarkers, run.readCommits());
    // A damaged index is refused with what to do.
    Files.deleteIfExists(dir.resolve("." + RunDirectory.COMMIT_INDEX + ".crc")); // as HDFS/S3 deliver bytes
    Files.write(dir.resolve(RunDirectory.COMMIT_INDEX), new byte[] {0x1f, (byte) 0x8b, 8, 0, 1, 2});
    org.seedlm.pipeline.BadInputException e = assertThrows(org.seedlm.pipeline.BadInputException.class,
        run::readCommits);
    assertTrue(e.getMessage().contains(RunDirectory.COMMIT_INDEX) && e.getMessage().contains("delete it"),
        e.getMessage());
    run.deleteCommitIndex();
    assertFalse(run.hasCommitIndex());
  }
}
