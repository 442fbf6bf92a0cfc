import { createHash } from 'node:crypto';
/**
 * The key layout every backend shares (see storage.ts): uploads at
 * `uploads/{owner}/{project}/{hash}/{nonce}`, verified blobs at `blobs/{owner}/{project}/{sha256}`.
 */
import { HASH_PATTERN, LEGACY_HASH_PATTERN, NAME_PATTERN } from '@dreamlake/protocol';
import type { BlobRef } from './storage.ts';

/** Names and hashes (the legacy clients' hash is the first 16 hex digits of the SHA-256): the protocol's rules. */
export { HASH_PATTERN, LEGACY_HASH_PATTERN, NAME_PATTERN } from '@dreamlake/protocol';
/** A key's last segment: what a backend picks to make the key unique. */
export const NONCE_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;

export interface UploadKeyParts {
  owner: string;
  project: string;
  /** The full SHA-256, or a legacy 16-hex prefix. */
  hash: string;
  nonce: string;
}

export function isUploadHash(hash: string): boolean {
  return HASH_PATTERN.test(hash) || LEGACY_HASH_PATTERN.test(hash);
}

export function uploadKey(parts: UploadKeyParts): string {
  return `uploads/${parts.owner}/${parts.project}/${parts.hash}/${parts.nonce}`;
}

/** The parts of a well-formed upload key, or null for anything else. */
export function parseUploadKey(key: string): UploadKeyParts | null {
  const segments = key.split('/');
  if (segments.length !== 5 || segments[0] !== 'uploads') return null;
  const [, owner, project, hash, nonce] = segments as [string, string, string, string, string];
  if (!NAME_PATTERN.test(owner) || !NAME_PATTERN.test(project)) return null;
  if (!isUploadHash(hash) || !NONCE_PATTERN.test(nonce)) return null;
  return { owner, project, hash, nonce };
}

/**
 * A multipart upload's nonce starts with 24 hex digits (the disk backend's upload id is 32 of
 * them; the S3 backend's nonce is 24, then what the upload is bound to). The keys BSS makes for
 * its own use in the same folder (a single-shot staging key `single-…`, a private copy `copy-…`)
 * never do, so that no multipart step can be pointed at one of them.
 */
const MULTIPART_NONCE = /^[0-9a-f]{24}/;

/** The parts of a multipart upload's key, or null for anything else (a staging key included). */
export function parseMultipartKey(key: string): UploadKeyParts | null {
  const parts = parseUploadKey(key);
  return parts && MULTIPART_NONCE.test(parts.nonce) ? parts : null;
}

export function blobKey(blob: BlobRef): string {
  return `blobs/${blob.owner}/${blob.project}/${blob.hash}`;
}

/** Whether an assembled object's SHA-256 satisfies the hash an upload was started with. */
export function hashSatisfies(expected: string, actualSha256: string): boolean {
  return expected.length === 64 ? expected === actualSha256 : actualSha256.startsWith(expected);
}

/** An ETag without its surrounding quotes, lowercased (S3 accepts both forms). */
export function bareEtag(etag: string): string {
  return etag
    .trim()
    .replace(/^"(.*)"$/, '$1')
    .toLowerCase();
}

/**
 * How an upload records the user its grant was given to: a short digest, the same in every
 * backend, that fits an S3 key segment.
 */
export function userTag(user: string): string {
  return createHash('sha256').update(`dreamlake-upload-user:${user}`).digest('base64url').slice(0, 22);
}
