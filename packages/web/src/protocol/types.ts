/**
 * Wire types of docs/protocol.md, as the page (and any fetch-based client) sees them: the
 * protocol package's, and the few the page alone needs.
 */
export {
  ASSET_TYPES,
  type AssetType,
  type BatchGrant,
  type BatchGrantEntry,
  type BatchGrantFile,
  type BlobReceipt,
  type DownloadGrant,
  type IndexedFile,
  type InitAnswer,
  type InitRequest,
  type PartDone,
  type StoredBlob,
  type UploadGrant,
} from '@dreamlake/protocol';

import type { BlobReceipt } from '@dreamlake/protocol';

export interface ErrorBody {
  code: string;
  message: string;
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

/** An upload BSS opened: what every later step names. */
export interface OpenUpload {
  uploadId: string;
  key: string;
}

export interface InitResult extends OpenUpload {
  exists?: boolean;
  receipt?: BlobReceipt;
}

/** The answer to `POST {singleUrl}`: send the body to the single URL itself, or to S3 and then complete. */
export type SingleBegin =
  | { mode: 'put'; url: string }
  | { mode: 's3'; url: string; headers?: Record<string, string>; key: string; expiresAt?: string };
