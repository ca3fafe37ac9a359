package org.seedlm.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seedlm.pipeline.Sha256;
import org.seedlm.pipeline.safetensors.Checkpoint;

/**
 * Resume and verify check the model's values, not only its headers: two checkpoints with byte-identical headers
 * and different values (a "base" and an "instruct" model, {@link RunFixture} with two seeds).
 */
class ContentCheckTest {

  @TempDir
  java.nio.file.Path tmp;

  @AfterEach
  void forgetOpenFiles() {
    UnitRunner.closeCachedFiles(); // tests below rewrite a checkpoint in place
  }

  private RunFixture base() throws Exception {
    return RunFixture.create(tmp.resolve("base"), "seedlm-c8-p3-k8", -1, 42).plan(8, "fail");
  }

  private RunFixture instruct() throws Exception {
    return RunFixture.create(tmp.resolve("instruct"), "seedlm-c8-p3-k8", -1, 43);
  }

  private static byte[] headerOf(java.nio.file.Path file) throws Exception {
    byte[] b = Files.readAllBytes(file);
    long n = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    return Arrays.copyOf(b, (int) (8 + n));
  }

  @Test
  void theContentFingerprintTellsIdenticalHeadersApartAndReadsAFixedSample() throws Exception {
    RunFixture a = base();
    RunFixture b = instruct();
    java.nio.file.Path fa = a.modelDir.resolve("model.safetensors");
    java.nio.file.Path fb = b.modelDir.resolve("model.safetensors");
    assertTrue(Arrays.equals(headerOf(fa), headerOf(fb)), "the two models must have identical headers");
    try (Checkpoint ca = Checkpoint.open(new Path(fa.toString()), a.conf);
        Checkpoint cb = Checkpoint.open(new Path(fb.toString()), b.conf);
        Checkpoint ca2 = Checkpoint.open(new Path(fa.toString()), a.conf)) {
      assertEquals(ca.fingerprint(), cb.fingerprint(), "the header fingerprint cannot tell them apart");
      long before = ca.bytesRead();
      String content = ca.contentFingerprint();
      long read = ca.bytesRead() - before;
      assertTrue(read > 0 && read <= (long) Checkpoint.CONTENT_SAMPLES * Checkpoint.CONTENT_SAMPLE_BYTES,
          "bytes read: " + read);
      assertEquals(64, content.length());
      assertNotEquals(content, cb.contentFingerprint());
      assertEquals(content, ca2.contentFingerprint(), "deterministic");
    }
    // The last data byte of the file is always sampled (sample 255 starts at byte T - 1): flipping it changes the
    // content fingerprint and leaves the header fingerprint alone.
    byte[] file = Files.readAllBytes(fa);
    String header;
    String content;
    try (Checkpoint c = Checkpoint.open(new Path(fa.toString()), a.conf)) {
      header = c.fingerprint();
      content = c.contentFingerprint();
    }
    file[file.length - 1] ^= 1;
    java.nio.file.Path flipped = Files.createDirectories(tmp.resolve("flipped")).resolve("model.safetensors");
    Files.write(flipped, file);
    try (Checkpoint c = Checkpoint.open(new Path(flipped.toString()), a.conf)) {
      assertEquals(header, c.fingerprint());
      assertNotEquals(content, c.contentFingerprint());
    }
  }

  @Test
  void aRunIsRefusedForAnotherModelWithIdenticalHeadersNamingTheModel() throws Exception {
    RunFixture a = base();
    RunFixture b = instruct();
    RunSpec asked;
    try (Checkpoint c = Checkpoint.open(new Path(b.modelDir.toString()), b.conf)) {
      asked = new RunSpec(RunSpec.FORMAT, RunSpec.VERSION, b.modelDir.toString(), c.fingerprint(),
          a.spec.codec(), a.spec.codecParams(), List.of(), List.of(), 8, "fail", c.contentFingerprint());
    }
    assertEquals(a.spec.modelFingerprint(), asked.modelFingerprint());
    RunMismatchException e = assertThrows(RunMismatchException.class, () -> a.run.initOrCheck(asked));
    String m = e.getMessage();
    assertTrue(m.contains("model content: the run was made from " + a.modelDir), m);
    assertTrue(m.contains("this command reads " + b.modelDir), m);
    assertTrue(m.contains("resume with the model the run was made from, or quantize " + b.modelDir
        + " into a new run directory"), m);
    assertEquals(List.of(), a.run.initOrCheck(a.spec), "the same model resumes");
  }

  @Test
  void aRunMadeBeforeContentFingerprintsResumesAndSaysSoOnce() throws Exception {
    RunFixture a = RunFixture.create(tmp.resolve("old"), "seedlm-c8-p3-k8", -1, 42);
    RunFixture planned = a.plan(8, "fail");
    RunSpec s = planned.spec;
    RunSpec old = new RunSpec(s.format(), s.version(), s.model(), s.modelFingerprint(), s.codec(), s.codecParams(),
        s.include(), s.exclude(), s.unitBlocks(), s.nonFinite(), null);
    // what an older seedlm wrote: run.json without modelContent
    JsonNode json = RunDirectory.json().valueToTree(old);
    ((com.fasterxml.jackson.databind.node.ObjectNode) json).remove("modelContent");
    Files.writeString(a.runDir.resolve(RunDirectory.SPEC), RunDirectory.json().writeValueAsString(json));
    assertNull(a.run.readSpec().modelContent());
    List<String> notes = a.run.initOrCheck(s);
    assertEquals(1, notes.size(), notes::toString);
    assertTrue(notes.get(0).startsWith("run.json records no model content fingerprint"), notes::toString);
  }

  private static List<String> verify(RunFixture f) throws Exception {
    Verifier.Items items = Verifier.items(f.run);
    List<Verifier.ItemResult> results = new ArrayList<>();
    for (Verifier.Item i : items.items()) {
      results.add(Verifier.check(i, f.runDir.toString(), f.spec, f.conf));
    }
    return Verifier.summarize(items, results).problems();
  }

  /** SHA-256 of a tensor's raw bytes [from, to) read straight from the file (header parsed here, not by seedlm). */
  private static String rawSha(java.nio.file.Path file, String tensor, long from, long to) throws Exception {
    byte[] b = Files.readAllBytes(file);
    int n = (int) ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    JsonNode h = RunDirectory.json().readTree(new String(b, 8, n, "UTF-8"));
    long begin = h.path(tensor).path("data_offsets").get(0).asLong();
    int start = (int) (8 + n + begin);
    return Sha256.of(Arrays.copyOfRange(b, start + (int) from, start + (int) to));
  }

  @Test
  void eachMarkerRecordsTheBytesItReadAndVerifyNamesTheUnitWhenTheShardIsReplaced() throws Exception {
    RunFixture a = base();
    a.runAll().forEach(o -> assertTrue(o.committed(), o.toString()));
    java.nio.file.Path shard = a.modelDir.resolve("model.safetensors");
    // DOWN is F32 [7, 13] = 91 weights, 12 blocks of 8: unit 0 reads blocks 0..7 (elements 0..63), unit 1 the rest
    CommitMarker m0 = a.run.readCommit(0);
    CommitMarker m1 = a.run.readCommit(1);
    assertEquals(RunFixture.DOWN, m0.tensor());
    assertEquals(rawSha(shard, RunFixture.DOWN, 0, 64 * 4), m0.inputSha256());
    assertEquals(rawSha(shard, RunFixture.DOWN, 64 * 4, 91 * 4), m1.inputSha256());
    Assembler.assembleLocally(a.run, a.spec, a.plan, a.codec, 1L << 30, a.conf);
    assertEquals(List.of(), verify(a));

    // the shard is replaced by same-shaped different data after quantize
    Files.copy(instruct().modelDir.resolve("model.safetensors"), shard,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.deleteIfExists(a.modelDir.resolve(".model.safetensors.crc"));
    UnitRunner.closeCachedFiles();
    List<String> problems = verify(a);
    String all = String.join("\n", problems);
    String down = "tensor " + RunFixture.DOWN + " (stored as " + RunFixture.DOWN + ".packed): ";
    assertTrue(all.contains(down + "unit 0 (blocks 0..7, shard model.safetensors): the checkpoint bytes it reads now "
        + "have SHA-256 " + rawSha(shard, RunFixture.DOWN, 0, 64 * 4) + ", its commit marker recorded "
        + m0.inputSha256()), all);
    assertTrue(all.contains(down + "unit 1 (blocks 8..11, shard model.safetensors)"), all);
    for (int unit = 0; unit < a.plan.numUnits(); unit++) {
      String tensor = a.plan.unit(unit).tensor();
      String prefix = "tensor " + tensor + " (stored as " + tensor + ".packed): unit " + unit + " (";
      assertTrue(problems.stream().anyMatch(p -> p.startsWith(prefix)), prefix + "\n" + all);
    }
  }

  @Test
  void markersWithoutAnInputHashVerifyWithOneNote() throws Exception {
    RunFixture a = base();
    a.runAll().forEach(o -> assertTrue(o.committed(), o.toString()));
    for (CommitMarker m : a.run.readCommits().values()) {
      a.run.fs().delete(a.run.commitPath(m.unit()), false);
      a.run.writeJson(a.run.commitPath(m.unit()), new CommitMarker(m.unit(), m.tensor(), m.firstBlock(), m.rows(),
          m.file(), m.fileBytes(), m.codeSha256(), m.weights(), m.sqErr(), m.sqNorm(), m.maxAbsErr(), m.seconds(),
          m.finishedAtMillis(), m.attempt(), null, m.offsets()));
    }
    assertNull(a.run.readCommit(0).inputSha256());
    Assembler.assembleLocally(a.run, a.spec, a.plan, a.codec, 1L << 30, a.conf);
    assertEquals(List.of(), verify(a));
    Verifier.Items items = Verifier.items(a.run);
    assertEquals(List.of(a.plan.numUnits() + " of " + a.plan.numUnits() + " commit markers record no input hash "
        + "(written by an older seedlm): those units' checkpoint bytes are checked only through the recomputed "
        + "errors"), items.notes());
  }
}
