import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { blobKey } from '../keys.ts';
import type { BlobDeletion, BlobRef } from '../storage.ts';
import { isObjectMissing } from './s3-errors.ts';

/**
 * Deletes a blob whose object was last written before `publishedBefore` (publishing copies the
 * object again, so a blob published again just now counts as recent).
 */
export async function deleteBlob(
  client: S3Client,
  bucket: string,
  blob: BlobRef,
  publishedBefore: Date,
): Promise<BlobDeletion> {
  const Key = blobKey(blob);
  let written: Date | undefined;
  try {
    written = (await client.send(new HeadObjectCommand({ Bucket: bucket, Key }))).LastModified;
  } catch (error) {
    if (isObjectMissing(error)) return 'absent';
    throw error;
  }
  if (!written || written >= publishedBefore) return 'recent';
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
  return 'deleted';
}
