import type { BlobRef, Storage } from './storage.ts';

/**
 * A backend that can hand out a direct, time-limited URL for a verified blob (S3: a presigned
 * GET). The download route then answers 302 to it instead of streaming the bytes through BSS.
 */
export interface DirectDownloads {
  downloadUrl(blob: BlobRef, expiresInSeconds: number): Promise<string>;
}

export function servesDirectDownloads(storage: Storage): storage is Storage & DirectDownloads {
  return typeof (storage as Partial<DirectDownloads>).downloadUrl === 'function';
}
