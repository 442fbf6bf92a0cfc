import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DreamLakeError } from '@dreamlake/presign';
import { blobKey, hashSatisfies, type UploadKeyParts } from '../keys.ts';
import type { BlobInfo, BlobRef } from '../storage.ts';
import type { ByteBudget } from './byte-budget.ts';
import type { ResolvedS3StorageOptions } from './config.ts';
import { privateCopyKey } from './keys.ts';
import { copyWithin, publishBlob } from './publish.ts';
import { unavailabilityOf } from './s3-errors.ts';
import { headObject, type StagedObject, sha256OfObject } from './verify.ts';

export interface PublishContext {
  client: S3Client;
  /**
   * The same bucket through a client that sends each request once: the copy into a private key
   * that is hashed afterwards. An attempt the SDK gave up on (a timeout, a reset) may still land
   * later; had it been retried into the same key, a late first attempt could replace the bytes
   * already hashed. Each try of that copy therefore goes to a fresh key.
   */
  copyClient: S3Client;
  bucket: string;
  options: ResolvedS3StorageOptions;
  /** Bounds the staged objects held in memory at once by this process. */
  buffers: ByteBudget;
}

/**
 * Verifies a staged object (a single-shot upload's, or a completed multipart upload's) and
 * publishes it so that only bytes BSS hashed can ever become the blob. A single-shot client keeps
 * its presigned PUT of the staging key until it expires, and a store may let a part land while a
 * multipart upload completes, so the staged object may change at any moment; an ETag pin does not
 * stop that everywhere (Ceph RGW ignores a copy's `x-amz-copy-source-if-match`; an ETag is an
 * MD5, and two bodies with one MD5 are cheap to make). So the blob is never copied from the staged
 * key: a small object is written from the very bytes that were hashed, a larger one (or one past
 * the memory budget) is hashed and published from a private copy.
 */
export async function verifyAndPublishStaged(
  ctx: PublishContext,
  scope: UploadKeyParts,
  staged: StagedObject,
): Promise<BlobInfo> {
  const { buffers, options } = ctx;
  if (staged.size <= options.memoryPublishLimit && buffers.tryTake(staged.size)) {
    try {
      return await publishFromMemory(ctx, scope, staged);
    } finally {
      buffers.release(staged.size);
    }
  }
  return publishFromPrivateCopy(ctx, scope, staged);
}

function hashOptions(ctx: PublishContext) {
  return { chunkSize: ctx.options.verifyChunkSize, concurrency: ctx.options.verifyConcurrency };
}

/** Deletes the staged object and refuses, when `actual` is not the signed hash. */
async function refuseMismatch(ctx: PublishContext, scope: UploadKeyParts, stagedKey: string, actual: string) {
  if (hashSatisfies(scope.hash, actual)) return;
  await ctx.client.send(new DeleteObjectCommand({ Bucket: ctx.bucket, Key: stagedKey }));
  throw new DreamLakeError('hash_mismatch', 'content does not match the signed SHA-256', {
    expected: scope.hash,
    actual,
  });
}

/**
 * Writes `bytes`, whose SHA-256 BSS has just computed as `blob.hash`, to the blob's key in one
 * PutObject. Publishing is idempotent: the same content written twice is the same blob.
 */
export async function putVerifiedBytes(
  client: S3Client,
  bucket: string,
  blob: BlobRef,
  bytes: Buffer,
  contentType: string,
): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: blobKey(blob),
      Body: bytes,
      ContentLength: bytes.length,
      ContentType: contentType,
      Metadata: { sha256: blob.hash },
      // Checked by stores that check it (AWS S3), at no cost: it is the hash just computed.
      ChecksumSHA256: Buffer.from(blob.hash, 'hex').toString('base64'),
    }),
  );
}

/** Reads the object into memory, hashes it, and PUTs those bytes as the blob. */
async function publishFromMemory(ctx: PublishContext, scope: UploadKeyParts, staged: StagedObject) {
  const { client, bucket } = ctx;
  const bytes = Buffer.allocUnsafe(staged.size);
  const actual = await sha256OfObject(client, bucket, staged, hashOptions(ctx), bytes);
  await refuseMismatch(ctx, scope, staged.key, actual);
  const blob = { owner: scope.owner, project: scope.project, hash: actual };
  await putVerifiedBytes(client, bucket, blob, bytes, staged.contentType);
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: staged.key }));
  return { ...blob, size: staged.size, contentType: staged.contentType };
}

/** Tries of the copy into a private key, each to a fresh key, when S3 fails it for itself. */
const PRIVATE_COPY_TRIES = 3;

/**
 * Copies the object to a key no client can write (a multipart copy past the single-copy limit,
 * under `uploads/` so that the sweep and the lifecycle rule remove what a dead process leaves),
 * then verifies and publishes that copy.
 */
async function publishFromPrivateCopy(ctx: PublishContext, scope: UploadKeyParts, staged: StagedObject) {
  const { client, bucket, options } = ctx;
  for (let attempt = 1; ; attempt += 1) {
    const copyKey = privateCopyKey(scope);
    try {
      await copyWithin(ctx.copyClient, bucket, staged, { key: copyKey, contentType: staged.contentType }, options);
    } catch (error) {
      // Whatever a late attempt leaves at this key is never read: the sweep removes it.
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: copyKey })).catch(() => {});
      if (attempt >= PRIVATE_COPY_TRIES || unavailabilityOf(error) === null) throw error;
      await sleep(Math.random() * 100 * 2 ** attempt);
      continue;
    }
    try {
      return await verifyPrivateCopy(ctx, scope, staged, copyKey);
    } finally {
      // A copy left by a failed delete is swept with the other stale objects under uploads/.
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: copyKey })).catch(() => {});
    }
  }
}

/** Hashes the private copy at `copyKey` and publishes it when it is the signed blob. */
async function verifyPrivateCopy(ctx: PublishContext, scope: UploadKeyParts, staged: StagedObject, copyKey: string) {
  const { client, bucket, options } = ctx;
  const copy = await headObject(client, bucket, copyKey);
  if (copy?.size !== staged.size) {
    // Replaced by another length between the head and the copy (a store that ignores the signed length).
    throw new DreamLakeError(
      'conflict',
      'the staged object changed while it was verified; upload it again and complete',
    );
  }
  const actual = await sha256OfObject(client, bucket, copy, hashOptions(ctx));
  await refuseMismatch(ctx, scope, staged.key, actual);
  const blob = { owner: scope.owner, project: scope.project, hash: actual };
  await publishBlob(client, bucket, { ...copy, contentType: staged.contentType }, blobKey(blob), actual, options);
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: staged.key }));
  return { ...blob, size: copy.size, contentType: staged.contentType };
}
