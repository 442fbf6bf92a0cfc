import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mapLimit } from '@dreamlake/protocol';
import type { StagedObject } from './verify.ts';

export interface PublishOptions {
  singleCopyLimit: number;
  copyPartSize: number;
  copyConcurrency: number;
}

export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** Where a copy goes, and what the new object says of itself. */
export interface CopyTarget {
  key: string;
  contentType: string;
  metadata?: Record<string, string>;
}

/**
 * Copies `source` (its `size` bytes) to another key inside the bucket, no bytes passing through
 * BSS: one CopyObject up to `singleCopyLimit`, else a multipart copy by UploadPartCopy (S3 caps
 * CopyObject at 5 GiB). The copy is pinned to the source's ETag where the store honours that
 * (Ceph RGW does not: the caller must copy only what no client can still write).
 *
 * A multipart copy that fails is aborted once every part copy in flight has settled (an abort
 * racing a part copy can leave that part, and the upload, behind). One a dead process leaves is
 * removed by the sweep, which takes stale multipart uploads under `blobs/` as well as `uploads/`.
 */
export async function copyWithin(
  client: S3Client,
  bucket: string,
  source: StagedObject,
  target: CopyTarget,
  options: PublishOptions,
): Promise<void> {
  const from = copySource(bucket, source.key);
  const ifMatch = source.etag || undefined;
  if (source.size <= options.singleCopyLimit) {
    await client.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: target.key,
        CopySource: from,
        CopySourceIfMatch: ifMatch,
        MetadataDirective: 'REPLACE',
        ContentType: target.contentType,
        Metadata: target.metadata,
      }),
    );
    return;
  }

  const created = await client.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: target.key,
      ContentType: target.contentType,
      Metadata: target.metadata,
    }),
  );
  const uploadId = created.UploadId!;
  const ranges: { partNumber: number; start: number; end: number }[] = [];
  for (let start = 0, partNumber = 1; start < source.size; start += options.copyPartSize, partNumber++) {
    ranges.push({ partNumber, start, end: Math.min(source.size, start + options.copyPartSize) - 1 });
  }
  try {
    const parts = await mapLimit(ranges, options.copyConcurrency, async (range) => {
      const copied = await client.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: target.key,
          UploadId: uploadId,
          PartNumber: range.partNumber,
          CopySource: from,
          CopySourceRange: `bytes=${range.start}-${range.end}`,
          CopySourceIfMatch: ifMatch,
        }),
      );
      return { PartNumber: range.partNumber, ETag: copied.CopyPartResult?.ETag };
    });
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: target.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  } catch (error) {
    await client
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: target.key, UploadId: uploadId }))
      .catch(() => {});
    throw error;
  }
}

/**
 * Copies a verified object (one no client can write: see publish-staged.ts) to its blob key.
 * Publishing is idempotent: two publishers of the same content both succeed and leave one blob
 * with those bytes.
 */
export function publishBlob(
  client: S3Client,
  bucket: string,
  verified: StagedObject,
  targetKey: string,
  sha256: string,
  options: PublishOptions,
): Promise<void> {
  const target = { key: targetKey, contentType: verified.contentType, metadata: { sha256 } };
  return copyWithin(client, bucket, verified, target, options);
}
