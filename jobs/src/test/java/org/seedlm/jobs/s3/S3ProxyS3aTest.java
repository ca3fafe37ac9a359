package org.seedlm.jobs.s3;

/** The S3A scenario against an in-process S3Proxy (always runs; no Docker needed). */
class S3ProxyS3aTest extends S3aScenario {
  private S3ProxyServer server;
  private java.nio.file.Path base;

  @Override
  protected S3Endpoint endpoint() throws Exception {
    if (server == null) {
      base = java.nio.file.Files.createTempDirectory("seedlm-s3proxy");
      server = S3ProxyServer.start("seedlm-access", "seedlm-secret-key", base);
    }
    return server.endpoint();
  }

  @Override
  protected void stopEndpoint() throws Exception {
    if (server != null) {
      server.close();
      server = null;
    }
    if (base != null) {
      try (var s = java.nio.file.Files.walk(base)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
      base = null;
    }
  }
}
