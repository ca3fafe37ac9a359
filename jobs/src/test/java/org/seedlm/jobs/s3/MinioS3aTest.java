package org.seedlm.jobs.s3;

import java.net.URI;
import org.testcontainers.containers.MinIOContainer;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;

/** The S3A scenario against MinIO in a container; skipped where no Docker engine is reachable. */
@Testcontainers(disabledWithoutDocker = true)
class MinioS3aTest extends S3aScenario {

  @Container
  static final MinIOContainer MINIO = new MinIOContainer("minio/minio:RELEASE.2025-04-22T22-12-26Z")
      .withUserName("seedlm-access")
      .withPassword("seedlm-secret-key");

  @Override
  protected S3Endpoint endpoint() {
    return new S3Endpoint(URI.create(MINIO.getS3URL()), MINIO.getUserName(), MINIO.getPassword());
  }
}
