import type { Readable } from 'node:stream';
import type { BlobInfo, Storage } from './storage.ts';

/**
 * Single-shot uploads: a file of at most one part sent in one request instead of init, parts,
 * PUT and complete. Every backend takes them in one of two ways, or both by size:
 * - `SingleReceiver` (the disk backend, and S3 for small bodies): BSS itself receives the body
 *   (`PUT /{type}/upload/single`), hashes it as it arrives and publishes the blob only when size
 *   and SHA-256 match;
 * - `SingleStager` (S3, for bodies past what it receives): the body goes to the store by a
 *   presigned PUT of a staging key, and BSS verifies and publishes the staged object afterwards
 *   (`POST /{type}/upload/single/complete`).
 */

/** One single-shot upload: the signed scope and size, and the blob's content type. */
export interface SingleUpload {
  owner: string;
  project: string;
  /** The full SHA-256 the body must have. */
  hash: string;
  /** The exact byte count the body must have. */
  size: number;
  contentType: string;
}

export interface SingleReceiver {
  /**
   * The largest body `receiveSingle` takes. A backend that also stages bodies (S3) wants larger
   * ones staged; one that does not refuses them (`too_large`).
   */
  readonly singleReceiveLimit: number;

  /**
   * Streams the body, counting and hashing it, and publishes the blob when both match. Throws
   * `too_large` as soon as the body passes `size`, `invalid_part` when it ends short,
   * `hash_mismatch` for another SHA-256; none of these leaves anything behind. When the
   * verified blob is already stored, reads and discards the body and answers the blob (or, for a
   * small body, writes the same bytes again rather than asking first). Racing
   * with a multipart complete or another single-shot upload of the same blob ends with one blob
   * and every caller answered it.
   */
  receiveSingle(upload: SingleUpload, body: Readable): Promise<BlobInfo>;

  /** The public URL of a BSS path (with its query), as clients must use it. */
  publicUrlOf(pathAndQuery: string): string;
}

/** Where and how the client PUTs a single-shot body straight to the store. */
export interface StagedSingle {
  url: string;
  /** Headers the PUT must carry exactly (they are signed). */
  headers: Record<string, string>;
  /** The staging key, under the upload's scope (`uploads/{owner}/{project}/{hash}/single-…`). */
  key: string;
}

export interface SingleStager {
  /** A presigned PUT of exactly `size` bytes of `contentType` to a fresh staging key. */
  stageSingle(upload: SingleUpload, expiresInSeconds: number): Promise<StagedSingle>;

  /**
   * Checks the staged object's size and SHA-256 against the signed ones and only then publishes
   * it; a mismatch deletes it (`too_large`, `invalid_part`, `hash_mismatch`). A key whose
   * object was already published (a retry, a concurrent complete) answers the blob; a key with
   * nothing staged and no blob is `not_found`.
   */
  completeSingle(upload: Omit<SingleUpload, 'contentType'>, key: string): Promise<BlobInfo>;
}

export function receivesSingles(storage: Storage): storage is Storage & SingleReceiver {
  return typeof (storage as Partial<SingleReceiver>).receiveSingle === 'function';
}

export function stagesSingles(storage: Storage): storage is Storage & SingleStager {
  return typeof (storage as Partial<SingleStager>).stageSingle === 'function';
}

/**
 * Whether a body of `size` bytes goes to BSS itself (`PUT` of the single URL) rather than to a
 * staging key: always on a backend that only receives, up to its limit on one that also stages.
 */
export function receivesSingleOf(storage: Storage, size: number): storage is Storage & SingleReceiver {
  return receivesSingles(storage) && (size <= storage.singleReceiveLimit || !stagesSingles(storage));
}

/** A staging key's last segment starts with this, so it can never be taken for a multipart upload. */
export const SINGLE_NONCE_PREFIX = 'single-';
