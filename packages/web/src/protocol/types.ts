/** Wire types of docs/protocol.md, as the page (and any fetch-based client) sees them. */

export const ASSET_TYPES = ['videos', 'audio', 'image', 'text-tracks', 'labels', 'tracks', 'files'] as const;
export type AssetType = (typeof ASSET_TYPES)[number];

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

/** The five signed BSS URLs of one file's multipart upload. */
export interface UploadGrant {
  initUrl: string;
  partsUrl: string;
  partsDoneUrl: string;
  completeUrl: string;
  abortUrl: string;
  expiresAt?: string;
}

/** A granted batch entry: the five URLs, and `singleUrl` for a file the server lets go in one request. */
export interface BatchGrant extends UploadGrant {
  singleUrl?: string;
}

export interface ErrorBody {
  code: string;
  message: string;
}

export type BatchGrantEntry = { index: number } & (
  | { exists: true; file: IndexedFile }
  | (BatchGrant & { exists?: false })
  | { error: ErrorBody }
);

export interface BatchGrantFile {
  filename: string;
  hash: string;
  contentType: string;
  type: AssetType;
  size: number;
}

export type InitAnswer = { exists: true; file: IndexedFile } | (UploadGrant & { exists?: false });

export interface InitRequest {
  namespace: string;
  space: string;
  filename: string;
  hash: string;
  contentType: string;
  type: AssetType;
  size?: number;
}

/** BSS's signed word that it holds a verified blob. */
export interface BlobReceipt {
  size: number;
  contentType: string;
  exp: number;
  sig: string;
}

export interface RegisterRequest {
  name: string;
  hash: string;
  type: string;
  contentType?: string;
  receipt?: BlobReceipt;
}

export interface Me {
  username: string;
  namespaces: Array<{ name: string; kind: string; role: string }>;
}

export interface Space {
  namespace: string;
  name: string;
  createdAt: string;
}

export interface DownloadGrant {
  url: string;
  name: string;
  hash: string;
  size: number;
  contentType: string;
  expiresAt?: string;
}

/** An upload BSS opened: what every later step names. */
export interface OpenUpload {
  uploadId: string;
  key: string;
}

export interface InitResult extends OpenUpload {
  exists?: boolean;
  receipt?: BlobReceipt;
}

export interface PartDone {
  partNumber: number;
  etag: string;
  size: number;
}

/** What BSS answers once a blob is stored and verified (multipart complete or single-shot). */
export interface StoredBlob {
  success: boolean;
  key: string;
  hash: string;
  size: number;
  contentType: string;
  receipt?: BlobReceipt;
}

/** The answer to `POST {singleUrl}`: send the body to the single URL itself, or to S3 and then complete. */
export type SingleBegin =
  | { mode: 'put'; url: string }
  | { mode: 's3'; url: string; headers?: Record<string, string>; key: string; expiresAt?: string };
