/**
 * The JSON the DreamLake server and BSS send and receive (docs/protocol.md): what a client may
 * rely on. Services validate requests with their own schemas built from `rules.ts`; these types
 * say what the answers hold.
 */
import type { AssetType } from './asset-types.ts';
import type { ErrorCode } from './errors.ts';
import type { PartCheck } from './part-checks.ts';
import type { UploadUrlField } from './steps.ts';

/** A file in a space's index. */
export interface IndexedFile {
  namespace: string;
  space: string;
  name: string;
  type: string;
  size: number;
  contentType: string;
  hash: string;
  uploadedBy?: string;
  createdAt?: string;
}

/** The signed BSS URLs of one upload (`POST /uploads/init`), with when they stop working. */
export type UploadGrant = Record<UploadUrlField, string> & { expiresAt?: string };

/** BSS's signed word that it holds a verified blob: passed on to register. */
export interface BlobReceipt {
  size: number;
  contentType: string;
  /** Unix seconds. */
  exp: number;
  sig: string;
}

/** `POST /uploads/init`: one file. */
export interface InitRequest {
  namespace: string;
  space: string;
  filename: string;
  hash: string;
  contentType: string;
  type: AssetType;
  /** The file's bytes: required (the grant binds the upload to it and holds it against the quota). */
  size: number;
}

export type InitAnswer = { exists: true; file: IndexedFile } | (UploadGrant & { exists?: false });

/** An entry's own error inside a batch answer. */
export interface ErrorAnswer {
  error: { code: ErrorCode | (string & {}); message: string };
}

/** One file of `POST /uploads/batch`. */
export interface BatchGrantFile {
  filename: string;
  hash: string;
  contentType: string;
  type: AssetType;
  size: number;
}

/** A granted entry of `POST /uploads/batch`: the five URLs, and `singleUrl` for a file of one part. */
export interface BatchGrant extends UploadGrant {
  singleUrl?: string;
}

export type BatchGrantEntry = { index: number } & (
  | { exists: true; file: IndexedFile }
  | (BatchGrant & { exists?: false })
  | ErrorAnswer
);

/** Whether a space holds a file: its name points at that hash, the hash is there under another name, or neither. */
export type LookupState = 'indexed' | 'held' | 'missing';

/** One file of `POST …/files` and `POST …/files/batch`. */
export interface RegisterRequest {
  name: string;
  hash: string;
  type: string;
  contentType: string;
  receipt?: BlobReceipt;
}

export type RegisterEntry = { index: number } & ({ file: IndexedFile; created: boolean } | ErrorAnswer);

/** `GET …/files/{name}/download`: a signed URL for the blob's bytes. */
export interface DownloadGrant {
  url: string;
  name: string;
  hash: string;
  size: number;
  contentType: string;
  expiresAt?: string;
}

/** What BSS answers once a blob is stored and verified (multipart complete, or single-shot). */
export interface StoredBlob {
  success: boolean;
  key: string;
  hash: string;
  size: number;
  contentType: string;
  receipt?: BlobReceipt;
}

/** `POST …/multipart/init`: the upload opened; `exists` (with a receipt) when BSS already holds the blob. */
export interface MultipartInitAnswer {
  uploadId: string;
  key: string;
  exists?: boolean;
  receipt?: BlobReceipt;
  /** The per-part check this BSS wants in the parts request (absent from older BSSs: `md5`). */
  partCheck?: PartCheck;
}

/** A part BSS holds, as `GET …/multipart/parts-done` lists it. */
export interface PartDone {
  partNumber: number;
  etag: string;
  size: number;
}

export interface PartsDoneAnswer {
  parts: PartDone[];
  /** True when BSS no longer knows the upload (aborted, completed long ago, or swept). */
  expired: boolean;
}

/**
 * `POST …/multipart/parts`: the part numbers wanted, and for each the check its URL binds it to
 * (`contentMd5` or `checksumCrc32`, as the init answer's `partCheck` says; both base64).
 */
export interface PartUrlsRequest {
  uploadId: string;
  key: string;
  partNumbers: number[];
  contentMd5?: Record<string, string>;
  checksumCrc32?: Record<string, string>;
  /** Each part's exact length (a signed grant binds them). */
  contentLength?: Record<string, number>;
}

/** `POST …/multipart/parts`: one signed URL per part number. */
export interface PartUrlsAnswer {
  parts: Record<string, string>;
  expiresAt?: string;
}

/** `GET /auth/me`: who the token is, and the namespaces they may act in. */
export interface Me {
  username: string;
  namespaces: Array<{ name: string; kind: string; role: string }>;
}

/** A space of a namespace, as `GET /namespaces/{ns}/spaces` lists it. */
export interface Space {
  namespace: string;
  name: string;
  createdAt: string;
}

/** An upload BSS opened: what every later step names. */
export interface OpenUpload {
  uploadId: string;
  key: string;
}

/**
 * The answer to `POST {singleUrl}`: send the body to the single URL itself (`put`), or to S3 with
 * the URL and headers given and then ask BSS to complete it (`s3`).
 */
export type SingleBegin =
  | { mode: 'put'; url: string }
  | { mode: 's3'; url: string; headers?: Record<string, string>; key: string; expiresAt?: string };

/** `POST /downloads/batch`: one entry per name asked, in order. */
export type DownloadBatchEntry = { index: number } & (DownloadGrant | ErrorAnswer);

/** Who made a snapshot, when, and what it changed against its parent. */
export interface SnapshotView {
  namespace: string;
  space: string;
  version: number;
  /** The version before it (null for the first). */
  parent: number | null;
  author: string;
  message: string;
  createdAt: string;
  counts: { added: number; changed: number; removed: number };
  /** Entries of the snapshot, and their bytes. */
  files: number;
  bytes: number;
  /** SHA-256 of the manifest's canonical serialisation (docs/protocol.md); absent while not computed yet. */
  manifestHash?: string;
}

/** The server's Ed25519 signature over `signed` (a JSON text naming the snapshot and its manifestHash). */
export interface SnapshotReceipt {
  alg: 'Ed25519';
  keyId: string;
  /** The exact UTF-8 JSON text that was signed. */
  signed: string;
  /** base64url of the 64-byte signature. */
  signature: string;
}

/** `POST …/commits`, and each batch of `POST …/drafts/{id}/entries`: the changes to apply. */
export interface CommitChanges {
  /** Names to point at verified blobs (as `POST …/files`). */
  puts?: RegisterRequest[];
  /** Names to remove (each must be in head when committed). */
  deletes?: string[];
  /** Prefixes whose every name is removed (applied before the puts). */
  deletePrefixes?: string[];
}

/** `POST …/commits`: the changes, with a message and the version they were made against. */
export interface CommitRequest extends CommitChanges {
  message?: string;
  /** The head the changes were made against; omitted: whatever head is (no conflict check). */
  parent?: number;
}

/** `POST …/commits`, `POST …/drafts/{id}/commit`, `POST …/restore`: the snapshot made, or head when nothing changed (`created: false`; null while the space has no snapshot). */
export interface CommitAnswer {
  created: boolean;
  snapshot: SnapshotView | null;
}

/** An open draft (`POST …/drafts`). */
export interface DraftView {
  id: string;
  parent: number | null;
  expiresAt: string;
}

/** One name that differs between two versions (`GET …/diff`). */
export interface DiffEntry {
  name: string;
  change: 'added' | 'changed' | 'removed';
  /** The entry at the older version (changed, removed) and at the newer one (added, changed). */
  before?: { hash: string; size: number; type: string; contentType: string };
  after?: { hash: string; size: number; type: string; contentType: string };
}

/** What a share link names at this use (`GET /s/{secret}/info`). */
export interface ShareInfo {
  namespace: string;
  space: string;
  /** The version served at this use: the pinned one, or head now. */
  version: number;
  pinned: boolean;
  prefix: string;
  /** The manifestHash of the whole version (docs/protocol.md, "Versions"). */
  manifestHash: string;
  expiresAt: string;
}

/** A file as a share link lists it. */
export interface SharedFile {
  name: string;
  size: number;
  hash: string;
  type: string;
  contentType: string;
}

/** A public key snapshot receipts are signed with (`GET /.well-known/dreamlake-snapshot-keys.json`), as a JWK. */
export interface SnapshotKey {
  kid: string;
  kty: 'OKP';
  crv: 'Ed25519';
  /** base64url of the raw 32-byte public key. */
  x: string;
  alg: 'EdDSA';
  use: 'sig';
}

/** A share link as made (`secret` is shown once) or listed (with its use counts). */
export interface ShareView {
  id: string;
  namespace: string;
  space: string;
  /** The pinned version; null: head at each use. */
  version: number | null;
  prefix: string;
  createdAt: string;
  expiresAt: string;
}
export interface CreatedShare extends ShareView {
  /** Shown once: whoever holds it may list and download what the link names. */
  secret: string;
  /** The link on the server: `/s/` and the secret. */
  path: string;
}
export interface ListedShare extends ShareView {
  createdBy: string;
  uses: number;
  downloads: number;
  lastUsedAt: string | null;
  expired: boolean;
}
