package org.seedlm.jobs.s3;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * An S3-compatible endpoint (in-process S3Proxy, or MinIO in a container) and its credentials: the
 * S3A settings to reach it, and an AWS SDK client for what S3A cannot do (create buckets, upload
 * fixtures). The credentials only ever travel as Hadoop conf ({@code fs.s3a.access.key},
 * {@code fs.s3a.secret.key}) with {@code SimpleAWSCredentialsProvider}.
 */
public record S3Endpoint(URI endpoint, String accessKey, String secretKey) {

  /** The {@code fs.s3a.*} settings (plain Hadoop keys) for this endpoint, with fail-fast retries. */
  public Map<String, String> s3aConf() {
    Map<String, String> c = new LinkedHashMap<>();
    c.put("fs.s3a.endpoint", endpoint.toString());
    c.put("fs.s3a.endpoint.region", "us-east-1");
    c.put("fs.s3a.path.style.access", "true");
    c.put("fs.s3a.connection.ssl.enabled", "false");
    c.put("fs.s3a.access.key", accessKey);
    c.put("fs.s3a.secret.key", secretKey);
    c.put("fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    c.put("fs.s3a.attempts.maximum", "1");
    c.put("fs.s3a.retry.limit", "1");
    c.put("fs.s3a.retry.interval", "100ms");
    c.put("fs.s3a.connection.establish.timeout", "2s");
    c.put("fs.s3a.connection.timeout", "10s");
    return c;
  }

  /** The same settings as Spark conf ({@code spark.hadoop.fs.s3a.*}). */
  public Map<String, String> sparkConf() {
    Map<String, String> c = new LinkedHashMap<>();
    s3aConf().forEach((k, v) -> c.put("spark.hadoop." + k, v));
    return c;
  }

  /** Applies {@link #s3aConf()} to a Hadoop configuration. */
  public org.apache.hadoop.conf.Configuration apply(org.apache.hadoop.conf.Configuration conf) {
    s3aConf().forEach(conf::set);
    return conf;
  }

  /** A new SDK client (path-style, static credentials); close it after use. */
  public S3Client client() {
    return S3Client.builder()
        .endpointOverride(endpoint)
        .region(Region.US_EAST_1)
        .forcePathStyle(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey)))
        .httpClientBuilder(ApacheHttpClient.builder())
        .build();
  }

  /** Creates buckets (S3A cannot). */
  public void createBuckets(String... names) {
    try (S3Client s3 = client()) {
      for (String n : names) {
        s3.createBucket(b -> b.bucket(n));
      }
    }
  }

  /** Uploads local files to {@code s3://bucket/prefix/<file name>}. */
  public void upload(String bucket, String prefix, java.nio.file.Path... files) {
    try (S3Client s3 = client()) {
      for (java.nio.file.Path f : files) {
        s3.putObject(b -> b.bucket(bucket).key(prefix + "/" + f.getFileName()), RequestBody.fromFile(f));
      }
    }
  }
}
