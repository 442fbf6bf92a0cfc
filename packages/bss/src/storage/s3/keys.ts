import { randomBytes } from 'node:crypto';
import { HASH_PATTERN, NAME_PATTERN, parseUploadKey, type UploadKeyParts, uploadKey } from '../keys.ts';
import type { BlobRef, UploadFacts } from '../storage.ts';

/**
 * Where the S3 backend puts things, on top of the shared layout in `../keys.ts`:
 * `uploads/{owner}/{project}/{hash}/{nonce}` is the multipart upload's key and, after
 * CompleteMultipartUpload, the staged (not yet verified) object; a single-shot upload stages its
 * object at `uploads/{owner}/{project}/{hash}/single-{nonce}`; `blobs/{owner}/{project}/{sha256}`
 * is written only after the SHA-256 matched.
 */
export const UPLOADS_PREFIX = 'uploads/';
/** Verified blobs, and the multipart copies that publish the large ones. */
export const BLOBS_PREFIX = 'blobs/';

/**
 * A staged object (single-shot, or a completed multipart upload) too large to publish from memory
 * is verified from a copy at `uploads/{owner}/{project}/{hash}/copy-{nonce}`: no URL is ever
 * signed for such a key, so nothing a client holds can change it, and the sweep removes one a
 * dead process left behind.
 */
export function privateCopyKey(scope: Omit<UploadKeyParts, 'nonce'>): string {
  return uploadKey({ ...scope, nonce: `copy-${randomBytes(12).toString('hex')}` });
}

/**
 * A multipart upload's nonce carries what the upload is bound to (S3 keeps no metadata of an open
 * multipart upload that ListParts would show): 24 hex, then `s{size}` and `u{userTag}` when
 * bound. The key is as trustworthy as S3's own records: S3 answers an upload id only with the
 * key it was created for.
 */
const BOUND_NONCE = /^[0-9a-f]{24}(?:s(0|[1-9][0-9]{0,15}))?(?:u([A-Za-z0-9_-]{22}))?$/;

export function newUploadKey(scope: Omit<UploadKeyParts, 'nonce'>, facts: UploadFacts = {}): string {
  const size = facts.size !== undefined ? `s${facts.size}` : '';
  const user = facts.user !== undefined ? `u${facts.user}` : '';
  return uploadKey({ ...scope, nonce: `${randomBytes(12).toString('hex')}${size}${user}` });
}

/**
 * The scope of a key this backend made for a multipart upload; null for any other key, a
 * single-shot staging key or a private copy included (no multipart step may touch those).
 */
export function multipartScope(key: string): UploadKeyParts | null {
  const parts = parseUploadKey(key);
  return parts && BOUND_NONCE.test(parts.nonce) ? parts : null;
}

/** What an upload key says its upload is bound to; null for a key this backend did not make. */
export function factsOfKey(key: string): UploadFacts | null {
  const parts = parseUploadKey(key);
  const match = parts ? BOUND_NONCE.exec(parts.nonce) : null;
  if (!match) return null;
  return {
    ...(match[1] !== undefined ? { size: Number(match[1]) } : {}),
    ...(match[2] !== undefined ? { user: match[2] } : {}),
  };
}

export function blobPrefix(owner: string, project: string): string {
  return `${BLOBS_PREFIX}${owner}/${project}/`;
}

/** Whether a BlobRef names something that can exist (valid names, full lowercase hash). */
export function isValidBlobRef(blob: BlobRef): boolean {
  return NAME_PATTERN.test(blob.owner) && NAME_PATTERN.test(blob.project) && HASH_PATTERN.test(blob.hash);
}
