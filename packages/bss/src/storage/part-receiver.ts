import type { Readable } from 'node:stream';
import type { PartInfo, Storage } from './storage.ts';

/**
 * What BSS needs from a backend that keeps parts itself (the disk backend): its part URLs point
 * back at BSS (`PUT /upload/part`), and the route hands the verified request to `receivePart`.
 * Backends whose part URLs go elsewhere (S3) do not implement it.
 */
export interface PartPut {
  owner: string;
  project: string;
  hash: string;
  uploadId: string;
  partNumber: number;
  /** The largest body the signed URL allows. */
  maxLength: number;
  /** Base64 MD5 the URL is bound to, or that the request declared in `Content-MD5`. */
  contentMd5: string | undefined;
  /** Base64 CRC-32 the URL is bound to, or that the request declared in `x-amz-checksum-crc32`. */
  checksumCrc32?: string | undefined;
  /** The request's Content-Length, when it declared one. */
  contentLength: number | undefined;
}

export interface PartReceiver {
  /**
   * Streams one part's body to storage. The part appears only once its body is complete and
   * checked; a cut-off or refused body leaves nothing. Throws `not_found` for an unknown
   * upload, `too_large` past `maxLength`, `invalid_part` when the body's MD5 or CRC-32 differs.
   */
  receivePart(put: PartPut, body: Readable): Promise<PartInfo>;
}

export function receivesParts(storage: Storage): storage is Storage & PartReceiver {
  return typeof (storage as Partial<PartReceiver>).receivePart === 'function';
}
