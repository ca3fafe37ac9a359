package org.seedlm.pipeline.eval;

import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.seedlm.pipeline.bert.BertImporter;

/** Shared, lazily loaded BERT-base (imported once per build into the test cache). */
final class TestModels {
  private static Path dir;
  private static BertModel model;
  private static WordPieceTokenizer tok;

  private TestModels() {}

  static synchronized Path dir() throws IOException {
    if (dir == null) {
      dir = BertImporter.ensureImported(BertImporter.locateJar(),
          new Path(System.getProperty("seedlm.cache.dir"), "bert-base-uncased"), new Configuration());
    }
    return dir;
  }

  static synchronized BertModel model() throws IOException {
    if (model == null) {
      model = BertModel.loadCheckpoint(dir(), new Configuration());
    }
    return model;
  }

  static synchronized WordPieceTokenizer tokenizer() throws IOException {
    if (tok == null) {
      tok = WordPieceTokenizer.load(new Path(dir(), BertImporter.VOCAB_FILE), new Configuration());
    }
    return tok;
  }
}
