import { presignUrl } from '@dreamlake/presign';
import type { ServerConfig } from './config.ts';
import type { AssetType } from './names.ts';

export interface BlobRef {
  /** The namespace. */
  owner: string;
  /** The space. */
  project: string;
  hash: string;
}

type SigningConfig = Pick<ServerConfig, 'presignSecrets' | 'presignTtlSeconds'>;

/** The five upload endpoints: answer field, path step, action. */
const UPLOAD_STEPS = [
  ['initUrl', 'init', 'upload-init'],
  ['partsUrl', 'parts', 'upload-parts'],
  ['partsDoneUrl', 'parts-done', 'upload-parts-done'],
  ['completeUrl', 'complete', 'upload-complete'],
  ['abortUrl', 'abort', 'upload-abort'],
] as const;

export type UploadUrls = Record<(typeof UPLOAD_STEPS)[number][0], string> & { expiresAt: string };

function signed(config: SigningConfig, base: string, path: string, action: string, blob: BlobRef, nowMs: number) {
  return presignUrl(base, path, {
    action,
    params: { owner: blob.owner, project: blob.project, hash: blob.hash },
    secrets: config.presignSecrets,
    now: Math.floor(nowMs / 1000),
    ttlSeconds: config.presignTtlSeconds,
  });
}

/** Signed URLs for the five BSS multipart endpoints of one blob, all scoped to owner, project and hash. */
export function uploadUrls(config: SigningConfig & Pick<ServerConfig, 'bssPublicUrl'>, type: AssetType, blob: BlobRef, nowMs: number): UploadUrls {
  const urls = {} as Record<string, string>;
  let exp = 0;
  for (const [field, step, action] of UPLOAD_STEPS) {
    const result = signed(config, config.bssPublicUrl, `${type}/upload/multipart/${step}`, action, blob, nowMs);
    urls[field] = result.url;
    exp = result.exp;
  }
  return { ...(urls as Record<(typeof UPLOAD_STEPS)[number][0], string>), expiresAt: new Date(exp * 1000).toISOString() };
}

/** A signed `GET /blobs/stat` or `GET /blobs/download` URL on the given BSS base. */
export function blobUrl(config: SigningConfig, base: string, action: 'stat' | 'download', blob: BlobRef, nowMs: number) {
  const { url, exp } = signed(config, base, `blobs/${action}`, action, blob, nowMs);
  return { url, expiresAt: new Date(exp * 1000).toISOString() };
}
