import { randomBytes } from 'node:crypto';
import type { BlobRef } from '../storage.ts';
import { HASH_PATTERN, NAME_PATTERN, uploadKey, type UploadKeyParts } from '../keys.ts';

/**
 * Where the S3 backend puts things, on top of the shared layout in `../keys.ts`:
 * `uploads/{owner}/{project}/{hash}/{nonce}` is the multipart upload's key and, after
 * CompleteMultipartUpload, the staged (not yet verified) object; a single-shot upload stages its
 * object at `uploads/{owner}/{project}/{hash}/single-{nonce}`; `blobs/{owner}/{project}/{sha256}`
 * is written only after the SHA-256 matched.
 */
export const UPLOADS_PREFIX = 'uploads/';

export function newUploadKey(scope: Omit<UploadKeyParts, 'nonce'>): string {
  return uploadKey({ ...scope, nonce: randomBytes(12).toString('hex') });
}

export function blobPrefix(owner: string, project: string): string {
  return `blobs/${owner}/${project}/`;
}

/** Whether a BlobRef names something that can exist (valid names, full lowercase hash). */
export function isValidBlobRef(blob: BlobRef): boolean {
  return NAME_PATTERN.test(blob.owner) && NAME_PATTERN.test(blob.project) && HASH_PATTERN.test(blob.hash);
}
