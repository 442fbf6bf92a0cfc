import { after, before } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildBssApp } from '../src/app.ts';
import {
  createS3Storage,
  type S3Storage,
  type S3StorageConfig,
  type S3StorageOptions,
} from '../src/storage/s3/index.ts';
import { tempDir, testConfig } from './helpers.ts';
import { createTestBucket, s3EnvVars, type TestBucket } from './storage-s3-env.ts';

export interface S3App {
  bucket: TestBucket;
  storage: S3Storage;
  app: FastifyInstance;
}

/**
 * A fresh bucket, an S3 storage over it and a BSS app over that storage, made before the calling
 * suite's tests and removed after them. The fields are there once the suite's tests run.
 */
export function useS3App(base: S3StorageConfig, options?: S3StorageOptions): S3App {
  const fixture = {} as S3App;
  let removeDir: (() => Promise<void>) | undefined;
  before(async () => {
    fixture.bucket = await createTestBucket(base);
    fixture.storage = await createS3Storage(fixture.bucket.config, options);
    const temp = await tempDir();
    removeDir = temp.remove;
    fixture.app = await buildBssApp({
      config: testConfig(temp.dir, s3EnvVars(fixture.bucket.config)),
      storage: fixture.storage,
    });
  });
  after(async () => {
    await fixture.app?.close();
    await fixture.storage?.close();
    await fixture.bucket?.destroy();
    await removeDir?.();
  });
  return fixture;
}
