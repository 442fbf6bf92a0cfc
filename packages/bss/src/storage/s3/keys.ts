import { randomBytes } from 'node:crypto';
import type { BlobRef } from '../storage.ts';

/**
 * Object keys in the bucket. Every key is built from validated parts only, so a name can never
 * reach outside its owner/project prefix:
 * - `uploads/{owner}/{project}/{hash}/{nonce}`: a multipart upload, and after CompleteMultipartUpload
 *   the staged (not yet verified) object under the same key;
 * - `blobs/{owner}/{project}/{sha256}`: a verified blob, written only after its SHA-256 matched.
 */
export const UPLOADS_PREFIX = 'uploads/';
export const BLOBS_PREFIX = 'blobs/';

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const FULL_HASH = /^[0-9a-f]{64}$/;
const EXPECTED_HASH = /^(?:[0-9a-f]{16}|[0-9a-f]{64})$/;
const NONCE = /^[0-9a-f]{24}$/;

export interface UploadKeyParts {
  owner: string;
  project: string;
  /** The signed hash the upload must match: 64 hex, or a 16-hex legacy prefix. */
  expectedHash: string;
}

export function isName(value: string): boolean {
  return NAME.test(value);
}

export function isExpectedHash(value: string): boolean {
  return EXPECTED_HASH.test(value);
}

export function isFullHash(value: string): boolean {
  return FULL_HASH.test(value);
}

export function newUploadKey(parts: UploadKeyParts): string {
  return `${UPLOADS_PREFIX}${parts.owner}/${parts.project}/${parts.expectedHash}/${randomBytes(12).toString('hex')}`;
}

/** The scope an upload key names, or null when the key is not one this backend made. */
export function parseUploadKey(key: string): UploadKeyParts | null {
  const segments = key.split('/');
  if (segments.length !== 5 || `${segments[0]}/` !== UPLOADS_PREFIX) return null;
  const [, owner = '', project = '', expectedHash = '', nonce = ''] = segments;
  if (!isName(owner) || !isName(project) || !isExpectedHash(expectedHash) || !NONCE.test(nonce)) return null;
  return { owner, project, expectedHash };
}

export function blobKey(blob: BlobRef): string {
  return `${blobPrefix(blob.owner, blob.project)}${blob.hash}`;
}

export function blobPrefix(owner: string, project: string): string {
  return `${BLOBS_PREFIX}${owner}/${project}/`;
}

/** Whether a BlobRef names something that can exist (valid names, full lowercase hash). */
export function isValidBlobRef(blob: BlobRef): boolean {
  return isName(blob.owner) && isName(blob.project) && isFullHash(blob.hash);
}

/** Whether a computed SHA-256 satisfies the signed hash (full, or legacy 16-hex prefix). */
export function hashMatches(expected: string, actual: string): boolean {
  return expected.length === 64 ? actual === expected : actual.startsWith(expected);
}
