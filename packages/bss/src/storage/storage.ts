import type { Readable } from 'node:stream';
import { DreamLakeError } from '@dreamlake/presign';
import { MAX_PART_SIZE, MIN_PART_SIZE, type PartCheck } from '@dreamlake/protocol';

/**
 * The storage interface every BSS backend implements (local disk in `fs/`, S3 in `s3/`).
 * The shared contract suite in `test/storage-contract.ts` runs against each of them.
 *
 * Layout, the same for every backend:
 * - an upload's key is `uploads/{owner}/{project}/{hash}/{nonce}`: it names its scope, so a
 *   handler can check that a key belongs to the signed owner, project and hash;
 * - a verified blob lives at `blobs/{owner}/{project}/{sha256}` and nothing else is ever
 *   served or reported by `stat`.
 */

/** A blob's identity: one per content hash per space. `hash` is the full SHA-256. */
export interface BlobRef {
  owner: string;
  project: string;
  hash: string;
}

export interface UploadRef {
  key: string;
  uploadId: string;
}

export interface CreateUploadInput {
  owner: string;
  project: string;
  /** The signed SHA-256 (64 hex), or in legacy mode its 16-hex prefix. */
  hash: string;
  contentType: string;
  filename?: string;
  /** The file's size in bytes, when known: no part may reach past it, and complete takes no other size. */
  size?: number;
  /** The grant's user, as `userTag` gives it: only that user's grants may act on the upload. */
  user?: string;
}

/** What an upload was bound to when it was created. */
export interface UploadFacts {
  size?: number;
  user?: string;
}

export interface PartInfo {
  partNumber: number;
  /**
   * The ETag, in double quotes: the part's MD5 in hex as S3 gives it, or (disk backend, a part
   * sent without Content-MD5) `crc32Etag` of its CRC-32 and size.
   */
  etag: string;
  size: number;
}

export interface PartUrlOptions {
  expiresInSeconds: number;
  /** Base64 MD5 of the part, when the client declared it: the URL then only accepts that body. */
  contentMd5?: string;
  /** Base64 CRC-32 of the part, when the client declared it and the backend checks it (`partCheck`). */
  checksumCrc32?: string;
  /** The part's exact length, when the client declared it: the URL then takes no longer body. */
  contentLength?: number;
  /** The most the part may hold (the upload's size allows no more), where the backend can hold a PUT to it. */
  maxLength?: number;
}

export interface CompletedPart {
  partNumber: number;
  /** Accepted with or without the surrounding quotes. */
  etag: string;
}

export interface BlobInfo extends BlobRef {
  size: number;
  contentType: string;
}

/** What `deleteBlob` did. */
export type BlobDeletion = 'deleted' | 'absent' | 'recent';

export interface ByteRange {
  /** Inclusive first byte. */
  start: number;
  /** Inclusive last byte. */
  end: number;
}

export interface Storage {
  readonly kind: 'fs' | 's3';
  /** The per-part check this backend binds part URLs to (the init answer tells clients). */
  readonly partCheck: PartCheck;

  /** Starts a multipart upload for the scope. */
  createUpload(input: CreateUploadInput): Promise<UploadRef>;

  /** What the upload was bound to at creation; null when it is unknown, aborted or swept. */
  uploadFacts(upload: UploadRef): Promise<UploadFacts | null>;

  /** A URL the client PUTs one part's bytes to. */
  partUrl(upload: UploadRef, partNumber: number, options: PartUrlOptions): Promise<string>;

  /** The parts received so far, by part number; null when the upload is unknown, aborted or swept. */
  listParts(upload: UploadRef): Promise<PartInfo[] | null>;

  /**
   * Assembles the listed parts, checks the SHA-256 of the whole against the upload's signed hash
   * (a full hash, or a 16-hex legacy prefix) and only then publishes the blob. Throws
   * `hash_mismatch` (nothing stays visible), `too_large` or `invalid_part` when the parts add
   * up to more or less than the upload's recorded size (nothing is published),
   * `invalid_part` for a missing part or wrong ETag,
   * `entity_too_small` for a non-last part under 5 MiB, `not_found` for an unknown upload.
   * Completing an upload that was already completed, or whose blob another upload already
   * published, answers the blob.
   */
  complete(upload: UploadRef, parts: readonly CompletedPart[]): Promise<BlobInfo>;

  /** Discards an upload and its parts; unknown uploads are a no-op. */
  abort(upload: UploadRef): Promise<void>;

  /** A verified blob's facts, or null. */
  stat(blob: BlobRef): Promise<BlobInfo | null>;

  /** Streams a verified blob, or a byte range of it. Throws `not_found` if absent. */
  read(blob: BlobRef, range?: ByteRange): Promise<Readable>;

  /**
   * Deletes a verified blob published before `publishedBefore` (nothing is served for it after);
   * a blob published at or after it is kept, so an upload finishing now is never collected.
   * Answers `deleted`, `absent` (no such blob) or `recent` (kept).
   */
  deleteBlob(blob: BlobRef, publishedBefore: Date): Promise<BlobDeletion>;

  /** Aborts multipart uploads last active before `olderThan` (the latest record or part received); answers how many it removed. */
  sweep(olderThan: Date): Promise<number>;

  close(): Promise<void>;
}

/**
 * The most part `partNumber` of an upload of `size` bytes may hold, by the protocol's multipart
 * rules (S3's, kept by both backends): every part before it holds at least MIN_PART_SIZE. Negative when the part would start at or past the end (only part 1 may be
 * empty).
 */
export function partBound(size: number, partNumber: number): number {
  if (partNumber === 1) return Math.min(MAX_PART_SIZE, size);
  const left = size - (partNumber - 1) * MIN_PART_SIZE;
  return left > 0 ? Math.min(MAX_PART_SIZE, left) : -1;
}

/** Refuses an assembled size other than the one the upload was bound to. */
export function checkAssembledSize(expected: number | undefined, actual: number): void {
  if (expected === undefined || expected === actual) return;
  const message = `the parts add up to ${actual} bytes, not the ${expected} bytes this upload was started for`;
  if (actual > expected) throw new DreamLakeError('too_large', message, { size: expected });
  throw new DreamLakeError('invalid_part', message, { size: expected });
}
