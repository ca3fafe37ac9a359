package org.seedlm.jobs.s3;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;

/**
 * An in-process S3 server for tests: S3Proxy on 127.0.0.1 at a free port, with AWS v2/v4
 * authentication and a file-system backend under a scratch directory (so large objects do not sit on
 * the heap). Stop it with {@link #close()}; tests that used S3A should also call
 * {@code FileSystem.closeAll()}, because Hadoop caches one S3A client per bucket per JVM.
 */
public final class S3ProxyServer implements AutoCloseable {
  private final S3Proxy proxy;
  private final S3Endpoint endpoint;

  private S3ProxyServer(S3Proxy proxy, S3Endpoint endpoint) {
    this.proxy = proxy;
    this.endpoint = endpoint;
  }

  /** Starts a server storing its buckets under {@code baseDir}. */
  public static S3ProxyServer start(String accessKey, String secretKey, Path baseDir) throws Exception {
    return start(accessKey, secretKey, baseDir, freePort());
  }

  /**
   * Starts a server on a given port storing its buckets under {@code baseDir}: with the port and
   * directory of a stopped server, this is that server coming back (same endpoint, same objects).
   */
  public static S3ProxyServer start(String accessKey, String secretKey, Path baseDir, int port) throws Exception {
    Files.createDirectories(baseDir);
    URI uri = URI.create("http://127.0.0.1:" + port);
    S3Proxy proxy = S3Proxy.builder()
        .blobStore(new FilesystemNio2BlobStore(baseDir.toAbsolutePath().toString()))
        .endpoint(uri)
        .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, accessKey, secretKey)
        .build();
    proxy.start();
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!"STARTED".equals(proxy.getState())) {
      if (System.nanoTime() > deadline) {
        proxy.stop();
        throw new IllegalStateException("S3Proxy did not start on " + uri + ": " + proxy.getState());
      }
      Thread.sleep(10);
    }
    return new S3ProxyServer(proxy, new S3Endpoint(uri, accessKey, secretKey));
  }

  public S3Endpoint endpoint() {
    return endpoint;
  }

  public int port() {
    return endpoint.endpoint().getPort();
  }

  @Override
  public void close() throws Exception {
    proxy.stop();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
