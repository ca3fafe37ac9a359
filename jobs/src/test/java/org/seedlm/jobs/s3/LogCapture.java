package org.seedlm.jobs.s3;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;

/**
 * Captures everything a command logs (log4j2, at INFO and for the given loggers at DEBUG) and prints
 * (System.out and System.err, teed), until {@link #close()}, which restores the log configuration and
 * the streams.
 */
final class LogCapture implements AutoCloseable {
  private final List<String> events = Collections.synchronizedList(new ArrayList<>());
  private final ByteArrayOutputStream console = new ByteArrayOutputStream();
  private final PrintStream oldOut = System.out;
  private final PrintStream oldErr = System.err;
  private final String oldSparkLevel = System.getProperty("seedlm.spark.logLevel");
  private final LoggerContext ctx;
  private final AbstractAppender appender;

  LogCapture(String... debugLoggers) {
    ctx = (LoggerContext) LogManager.getContext(false);
    Configuration cfg = ctx.getConfiguration();
    appender = new AbstractAppender("seedlm-capture", null, null, true, Property.EMPTY_ARRAY) {
      @Override
      public void append(LogEvent e) {
        StringBuilder sb = new StringBuilder().append(e.getLevel()).append(' ').append(e.getLoggerName()).append(": ")
            .append(e.getMessage().getFormattedMessage());
        if (e.getThrown() != null) {
          StringWriter w = new StringWriter();
          e.getThrown().printStackTrace(new PrintWriter(w));
          sb.append('\n').append(w);
        }
        events.add(sb.toString());
      }
    };
    appender.start();
    cfg.addAppender(appender);
    for (Map.Entry<String, LoggerConfig> e : cfg.getLoggers().entrySet()) {
      e.getValue().setLevel(Level.INFO);
    }
    LoggerConfig root = cfg.getRootLogger();
    for (String name : List.copyOf(root.getAppenders().keySet())) {
      root.removeAppender(name); // keep the build output quiet; everything goes to the capture
    }
    root.setLevel(Level.INFO);
    root.addAppender(appender, null, null);
    for (String name : debugLoggers) {
      LoggerConfig lc = new LoggerConfig(name, Level.DEBUG, true);
      cfg.addLogger(name, lc);
    }
    ctx.updateLoggers();
    System.setProperty("seedlm.spark.logLevel", "INFO"); // Sparks.session sets the root level from it
    OutputStream teeOut = tee(oldOut);
    OutputStream teeErr = tee(oldErr);
    System.setOut(new PrintStream(teeOut, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(teeErr, true, StandardCharsets.UTF_8));
  }

  private OutputStream tee(PrintStream original) {
    return new OutputStream() {
      @Override
      public void write(int b) {
        synchronized (console) {
          console.write(b);
        }
        original.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        synchronized (console) {
          console.write(b, off, len);
        }
        original.write(b, off, len);
      }
    };
  }

  /** Log events captured so far (level, logger, message, stack trace). */
  List<String> events() {
    synchronized (events) {
      return List.copyOf(events);
    }
  }

  /** What was printed to System.out and System.err. */
  String console() {
    synchronized (console) {
      return console.toString(StandardCharsets.UTF_8);
    }
  }

  @Override
  public void close() {
    System.setOut(oldOut);
    System.setErr(oldErr);
    if (oldSparkLevel == null) {
      System.clearProperty("seedlm.spark.logLevel");
    } else {
      System.setProperty("seedlm.spark.logLevel", oldSparkLevel);
    }
    ctx.reconfigure(); // back to log4j2-test.properties
    appender.stop();
  }
}
