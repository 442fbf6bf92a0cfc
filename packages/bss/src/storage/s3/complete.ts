import { setTimeout as sleep } from 'node:timers/promises';
import {
  CompleteMultipartUploadCommand,
  DeleteObjectCommand,
  ListPartsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DreamLakeError } from '@dreamlake/presign';
import { MAX_PARTS } from '@dreamlake/protocol';
import { type BlobInfo, type CompletedPart, checkAssembledSize, type UploadRef } from '../storage.ts';
import { findBlobFor } from './blobs.ts';
import { factsOfKey, multipartScope } from './keys.ts';
import { quoteEtag } from './parts.ts';
import { type PublishContext, verifyAndPublishStaged } from './publish-staged.ts';
import { httpStatusOf, isObjectMissing, isPreconditionFailed, isUploadGone, s3ErrorName } from './s3-errors.ts';
import { headObject } from './verify.ts';

function sortedParts(parts: readonly CompletedPart[]): { PartNumber: number; ETag: string }[] {
  if (parts.length === 0) throw new DreamLakeError('invalid_part', 'complete needs at least one part');
  const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
  sorted.forEach((part, i) => {
    if (!Number.isInteger(part.partNumber) || part.partNumber < 1 || part.partNumber > MAX_PARTS) {
      throw new DreamLakeError('invalid_part', `part number ${part.partNumber} is outside 1..${MAX_PARTS}`);
    }
    if (i > 0 && sorted[i - 1]!.partNumber === part.partNumber) {
      throw new DreamLakeError('invalid_part', `part ${part.partNumber} is listed twice`);
    }
  });
  return sorted.map((part) => ({ PartNumber: part.partNumber, ETag: quoteEtag(part.etag) }));
}

function completeError(error: unknown): unknown {
  switch (s3ErrorName(error)) {
    case 'InvalidPart':
    case 'InvalidPartOrder':
      return new DreamLakeError('invalid_part', 'a listed part was not uploaded or its ETag does not match');
    case 'EntityTooSmall':
      return new DreamLakeError('entity_too_small', 'every part but the last must be at least 5 MiB');
    default:
      return error;
  }
}

function isServerError(error: unknown): boolean {
  return (httpStatusOf(error) ?? 0) >= 500;
}

/**
 * Whether the upload is gone, waiting a little for a completion in progress elsewhere. Ceph RGW
 * answers a complete of an unknown, aborted or already completing upload with 500 ("multipart
 * completion is already in progress") rather than NoSuchUpload; ListParts tells them apart.
 */
async function settlesGone(client: S3Client, bucket: string, upload: UploadRef): Promise<boolean> {
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      await client.send(
        new ListPartsCommand({ Bucket: bucket, Key: upload.key, UploadId: upload.uploadId, MaxParts: 1 }),
      );
    } catch (error) {
      if (isUploadGone(error)) return true;
      throw error;
    }
    await sleep(250);
  }
  return false;
}

/**
 * Completes a multipart upload, verifies the assembled object against the signed SHA-256 and
 * publishes it. Holds no state between calls: a retry, a second completer or another BSS process
 * finds where the first one got to from the bucket itself (upload gone → staged object → blob).
 */
export async function completeUpload(
  ctx: PublishContext,
  upload: UploadRef,
  parts: readonly CompletedPart[],
): Promise<BlobInfo> {
  // Only a key made for a multipart upload: a single-shot staging key lies in the same folder, and
  // its client can still PUT to it.
  const scope = multipartScope(upload.key);
  if (!scope) throw new DreamLakeError('scope_mismatch', 'key is not a multipart upload key');
  const { client, bucket } = ctx;
  const list = sortedParts(parts);

  let justCompleted = true;
  try {
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: upload.key,
        UploadId: upload.uploadId,
        MultipartUpload: { Parts: list },
      }),
    );
  } catch (error) {
    const gone = isUploadGone(error) || (isServerError(error) && (await settlesGone(client, bucket, upload)));
    if (!gone) throw completeError(error);
    justCompleted = false;
  }

  if (!justCompleted) {
    // Completed before (a retry, or a concurrent completer), aborted, swept, or never this id.
    const existing = await findBlobFor(client, bucket, scope);
    if (existing) return existing;
  }
  // The object CompleteMultipartUpload left (now, or before a retry): like every staged object it
  // is published from the bytes hashed or from a private copy, never copied from this key.
  const staged = await headObject(client, bucket, upload.key);
  const size = factsOfKey(upload.key)?.size;
  if (staged && size !== undefined && staged.size !== size) {
    // Another size than the upload was bound to: never hashed, never published.
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: staged.key }));
    checkAssembledSize(size, staged.size);
  }
  try {
    if (staged) return await verifyAndPublishStaged(ctx, scope, staged);
  } catch (error) {
    // Another completer published and removed the staged object while this one was reading it.
    if (!isObjectMissing(error) && !isPreconditionFailed(error)) throw error;
  }
  const published = await findBlobFor(client, bucket, scope);
  if (published) return published;
  throw new DreamLakeError('not_found', 'unknown upload');
}
