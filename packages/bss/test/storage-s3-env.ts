import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { readEnvFile } from '../../../support/env-file.ts';
import { createS3Client } from '../src/storage/s3/client.ts';
import type { S3StorageConfig } from '../src/storage/s3/index.ts';

/**
 * The real S3 server tests run against: the `export K=V` file DREAMLAKE_TEST_S3_ENV names
 * (written by scripts/s3-server.sh). Null when unset, so S3 tests skip.
 */
export const S3_SKIP_REASON =
  'DREAMLAKE_TEST_S3_ENV is unset: S3 backend tests need a real S3 server (scripts/s3-server.sh)';

export function readS3TestConfig(): S3StorageConfig | null {
  const file = process.env.DREAMLAKE_TEST_S3_ENV;
  if (!file) return null;
  const vars = readEnvFile(file);
  const required = ['S3_REGION', 'S3_BUCKET', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];
  const missing = required.filter((name) => !vars[name]);
  if (missing.length > 0) throw new Error(`${file} lacks ${missing.join(', ')}`);
  return Object.freeze({
    endpoint: vars.S3_ENDPOINT || undefined,
    region: vars.S3_REGION!,
    bucket: vars.S3_BUCKET!,
    forcePathStyle: vars.S3_FORCE_PATH_STYLE === 'true',
    accessKeyId: vars.AWS_ACCESS_KEY_ID,
    secretAccessKey: vars.AWS_SECRET_ACCESS_KEY,
  });
}

/** The same settings as a BSS process would read them from its environment. */
export function s3EnvVars(config: S3StorageConfig): Record<string, string> {
  return {
    STORAGE: 's3',
    ...(config.endpoint ? { S3_ENDPOINT: config.endpoint } : {}),
    S3_REGION: config.region,
    S3_BUCKET: config.bucket,
    S3_FORCE_PATH_STYLE: String(config.forcePathStyle),
    AWS_ACCESS_KEY_ID: config.accessKeyId ?? '',
    AWS_SECRET_ACCESS_KEY: config.secretAccessKey ?? '',
  };
}

export interface TestBucket {
  config: S3StorageConfig;
  client: S3Client;
  /** Keys of every object in the bucket under `prefix`. */
  keys(prefix: string): Promise<string[]>;
  /** Keys of the multipart uploads in progress. */
  multipartKeys(): Promise<string[]>;
  destroy(): Promise<void>;
}

/** A fresh, empty bucket for one test file, so runs never see each other's objects. */
export async function createTestBucket(base: S3StorageConfig): Promise<TestBucket> {
  const bucket = `dreamlake-t-${randomBytes(5).toString('hex')}`;
  const config = Object.freeze({ ...base, bucket });
  const client = createS3Client(config);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));

  const keys = async (prefix: string) => {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      out.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  };
  const multipart = async () => {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    return (page.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId! }));
  };

  return {
    config,
    client,
    keys,
    multipartKeys: async () => (await multipart()).map((u) => u.key),
    async destroy() {
      for (const u of await multipart()) {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.key, UploadId: u.uploadId }));
      }
      for (const key of await keys('')) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      client.destroy();
    },
  };
}
