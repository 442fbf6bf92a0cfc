import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { S3Activity } from './activity.ts';
import { createS3Client } from './client.ts';
import { resolveOptions, type S3StorageConfig, type S3StorageOptions } from './config.ts';
import { createPartUrlSigner } from './part-url-signer.ts';
import { httpStatusOf, s3ErrorName } from './s3-errors.ts';
import { S3Storage } from './s3-storage.ts';

export type { S3Observer } from './activity.ts';
export type { S3StorageConfig, S3StorageOptions } from './config.ts';
export { S3Storage, type S3StorageParts } from './s3-storage.ts';

/** What the S3 backend is told of the BSS serving it. */
export interface S3StorageHooks {
  /** BSS's public address (see `S3StorageParts.publicUrl`). */
  publicUrl?: string | (() => string);
}

/**
 * Builds the S3 backend and checks, once, that the bucket is reachable with these credentials,
 * so a misconfigured BSS fails at start rather than on the first upload.
 */
export async function createS3Storage(
  config: S3StorageConfig,
  options?: S3StorageOptions,
  hooks: S3StorageHooks = {},
): Promise<S3Storage> {
  if (!config.bucket) throw new TypeError('S3 storage: bucket is required');
  if (!config.region) throw new TypeError('S3 storage: region is required');
  const activity = new S3Activity();
  const client = createS3Client(config, activity);
  const copyClient = createS3Client({ ...config, maxAttempts: 1 }, activity);
  try {
    await client.send(new HeadBucketCommand({ Bucket: config.bucket }));
  } catch (error) {
    client.destroy();
    copyClient.destroy();
    const where = config.endpoint ?? `AWS S3 (${config.region})`;
    const why = s3ErrorName(error) ?? (error as Error).message;
    throw new Error(
      `S3 storage: bucket "${config.bucket}" at ${where} is not usable: ${why} (${httpStatusOf(error) ?? 'no response'})`,
    );
  }
  const partUrls = await createPartUrlSigner(client, config.bucket);
  return new S3Storage({
    client,
    copyClient,
    bucket: config.bucket,
    options: resolveOptions(options),
    partUrls,
    activity,
    ...(hooks.publicUrl !== undefined ? { publicUrl: hooks.publicUrl } : {}),
  });
}
