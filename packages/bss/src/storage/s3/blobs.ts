import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { blobKey, type UploadKeyParts } from '../keys.ts';
import type { BlobInfo, BlobRef } from '../storage.ts';
import { blobPrefix } from './keys.ts';
import { isObjectMissing } from './s3-errors.ts';

/** A verified blob's facts from its object, or null when there is none. */
export async function headBlob(client: S3Client, bucket: string, blob: BlobRef): Promise<BlobInfo | null> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: blobKey(blob) }));
    return {
      owner: blob.owner,
      project: blob.project,
      hash: blob.hash,
      size: head.ContentLength ?? 0,
      contentType: head.ContentType ?? 'application/octet-stream',
    };
  } catch (error) {
    if (isObjectMissing(error)) return null;
    throw error;
  }
}

/**
 * The verified blob an upload's signed hash names: by key for a full hash, by listing for a
 * legacy 16-hex prefix.
 */
export async function findBlobFor(client: S3Client, bucket: string, scope: UploadKeyParts): Promise<BlobInfo | null> {
  const { owner, project, hash: expectedHash } = scope;
  if (expectedHash.length === 64) return headBlob(client, bucket, { owner, project, hash: expectedHash });
  const prefix = blobPrefix(owner, project);
  const listed = await client.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}${expectedHash}`, MaxKeys: 1 }),
  );
  const key = listed.Contents?.[0]?.Key;
  if (!key) return null;
  return headBlob(client, bucket, { owner, project, hash: key.slice(prefix.length) });
}
