package org.seedlm.pipeline.run;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Collection;
import java.util.List;
import java.util.TreeMap;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.util.functional.FutureIO;
import org.seedlm.pipeline.BadInputException;
import org.seedlm.pipeline.ReplacingWrite;

/**
 * The commit index of a complete run, {@value #FILE}: every commit marker of the run in one gzip-compressed JSON
 * object, read with one GET as one stream, so that readers of a finished run do not list and read hundreds of
 * thousands of markers. It is a copy, never the commit itself: {@code commits/} stays the truth (one winner per
 * unit, resume lists it).
 *
 * <p>Version 2 (this file): {@code {"format":"seedlm-commit-index","version":2,"units":N,"fields":[...],
 * "markers":[[...],...]}}, each marker an array of the values of {@link #FIELDS} in that order (the names once in
 * the header instead of in every marker), in unit order, the whole gzip-compressed. Version 1,
 * {@value #VERSION_1_FILE}, was the same markers as indented JSON objects keyed by unit id; it is still read.
 */
final class CommitIndex {
  private CommitIndex() {}

  static final String FILE = "commit-index.json.gz";
  static final String VERSION_1_FILE = "commit-index.json";
  static final String FORMAT = "seedlm-commit-index";
  static final int VERSION = 2;

  /** A commit marker as a JSON array of its fields in this order. */
  @JsonFormat(shape = JsonFormat.Shape.ARRAY)
  @JsonPropertyOrder({"unit", "tensor", "firstBlock", "rows", "file", "fileBytes", "codeSha256", "weights", "sqErr",
      "sqNorm", "maxAbsErr", "seconds", "finishedAtMillis", "attempt", "inputSha256", "offsets"})
  private interface MarkerAsArray {}

  /** The fields of a marker array, in order (stored in the index's header and checked when it is read). */
  static final List<String> FIELDS = List.of(MarkerAsArray.class.getAnnotation(JsonPropertyOrder.class).value());

  record Stored(String format, int version, int units, List<String> fields, List<CommitMarker> markers) {}

  record Version1(String format, int version, int units, TreeMap<Integer, CommitMarker> markers) {}

  private static final ObjectMapper JSON = RunDirectory.JSON.copy()
      .disable(SerializationFeature.INDENT_OUTPUT)
      .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET)
      .addMixIn(CommitMarker.class, MarkerAsArray.class);

  /** Writes the index of a run of {@code units} units from all its {@code markers} (replacing any older one). */
  static void write(RunDirectory run, int units, Collection<CommitMarker> markers) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(bytes, 1 << 16)) {
      JSON.writeValue(gz, new Stored(FORMAT, VERSION, units, FIELDS, List.copyOf(markers)));
    }
    ReplacingWrite.write(run.fs(), run.path(FILE), bytes.toByteArray());
    run.fs().delete(run.path(VERSION_1_FILE), false);
  }

  /** The markers of the run's index keyed by unit id, or null when it has none. */
  static TreeMap<Integer, CommitMarker> read(RunDirectory run) throws IOException {
    Path p = run.path(FILE);
    if (run.fs().exists(p)) {
      Stored s;
      // one GET for the whole object (S3A would otherwise read it in ranges)
      try (InputStream in = FutureIO.awaitFuture(run.fs().openFile(p)
          .opt("fs.option.openfile.read.policy", "whole-file").build());
          InputStream gz = new GZIPInputStream(in, 1 << 16)) {
        s = JSON.readValue(gz, Stored.class);
      } catch (com.fasterxml.jackson.core.JacksonException | java.util.zip.ZipException | java.io.EOFException e) {
        throw refused(run, p, "it is damaged (" + e.getMessage() + ")", e);
      }
      if (!FORMAT.equals(s.format()) || s.version() != VERSION || !FIELDS.equals(s.fields())) {
        throw refused(run, p, String.format("it is %s version %d with fields %s, this seedlm reads %s version %d "
            + "with fields %s", s.format(), s.version(), s.fields(), FORMAT, VERSION, FIELDS), null);
      }
      TreeMap<Integer, CommitMarker> out = new TreeMap<>();
      for (CommitMarker m : s.markers() == null ? List.<CommitMarker>of() : s.markers()) {
        out.put(m.unit(), m);
      }
      return complete(run, p, s.units(), out);
    }
    Path v1 = run.path(VERSION_1_FILE);
    if (run.fs().exists(v1)) {
      Version1 s = run.readJson(v1, Version1.class);
      if (!FORMAT.equals(s.format()) || s.version() != 1) {
        throw refused(run, v1, String.format("it is %s version %d, expected %s version 1", s.format(), s.version(),
            FORMAT), null);
      }
      return complete(run, v1, s.units(), s.markers() == null ? new TreeMap<>() : s.markers());
    }
    return null;
  }

  /** {@code markers}, checked to hold units 0 .. {@code units}-1. */
  private static TreeMap<Integer, CommitMarker> complete(RunDirectory run, Path p, int units,
      TreeMap<Integer, CommitMarker> markers) {
    if (markers.size() != units || (units > 0 && (markers.firstKey() != 0 || markers.lastKey() != units - 1))) {
      throw refused(run, p, String.format("it lists %d distinct units, not the %d units 0..%d it claims",
          markers.size(), units, units - 1), null);
    }
    return markers;
  }

  private static BadInputException refused(RunDirectory run, Path p, String why, Exception cause) {
    return new BadInputException(String.format("Cannot read the commit index %s: %s; delete it (the markers under "
        + "%s are the commits) and run quantize again to rewrite it", p, why, run.path(RunDirectory.COMMITS)), cause);
  }
}
