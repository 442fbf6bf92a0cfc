import type { Readable } from 'node:stream';

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
  size?: number;
}

export interface PartInfo {
  partNumber: number;
  /** The ETag as S3 gives it: the part's MD5 in hex, in double quotes. */
  etag: string;
  size: number;
}

export interface PartUrlOptions {
  expiresInSeconds: number;
  /** Base64 MD5 of the part, when the client declared it: the URL then only accepts that body. */
  contentMd5?: string;
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

export interface ByteRange {
  /** Inclusive first byte. */
  start: number;
  /** Inclusive last byte. */
  end: number;
}

export interface Storage {
  readonly kind: 'fs' | 's3';

  /** Starts a multipart upload for the scope. */
  createUpload(input: CreateUploadInput): Promise<UploadRef>;

  /** A URL the client PUTs one part's bytes to. */
  partUrl(upload: UploadRef, partNumber: number, options: PartUrlOptions): Promise<string>;

  /** The parts received so far, by part number; null when the upload is unknown, aborted or swept. */
  listParts(upload: UploadRef): Promise<PartInfo[] | null>;

  /**
   * Assembles the listed parts, checks the SHA-256 of the whole against the upload's signed hash
   * (a full hash, or a 16-hex legacy prefix) and only then publishes the blob. Throws
   * HashMismatchError (nothing stays visible), `invalid_part` for a missing part or wrong ETag,
   * `entity_too_small` for a non-last part under 5 MiB, NotFoundError for an unknown upload.
   * Completing an upload that was already completed, or whose blob another upload already
   * published, answers the blob.
   */
  complete(upload: UploadRef, parts: readonly CompletedPart[]): Promise<BlobInfo>;

  /** Discards an upload and its parts; unknown uploads are a no-op. */
  abort(upload: UploadRef): Promise<void>;

  /** A verified blob's facts, or null. */
  stat(blob: BlobRef): Promise<BlobInfo | null>;

  /** Streams a verified blob, or a byte range of it. Throws NotFoundError if absent. */
  read(blob: BlobRef, range?: ByteRange): Promise<Readable>;

  /** Aborts multipart uploads started before `olderThan`; answers how many it removed. */
  sweep(olderThan: Date): Promise<number>;

  close(): Promise<void>;
}

/** S3 rules, for every backend. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
export const MAX_PARTS = 10_000;
