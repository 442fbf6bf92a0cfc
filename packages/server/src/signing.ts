import { presignUrl } from '@dreamlake/presign';
import {
  ACTIONS,
  blobPath,
  multipartPath,
  singlePath,
  UPLOAD_STEPS,
  type UploadGrant,
  type UploadUrlField,
} from '@dreamlake/protocol';
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

/** The protocol's `UploadGrant` (the five upload endpoints' URLs), whose `expiresAt` the server always states. */
export type UploadUrls = UploadGrant & { expiresAt: string };

/** `base` + `path` signed for `action` on the blob (and `extra` signed params), by presign's one URL builder. */
function signed(
  config: SigningConfig,
  base: string,
  path: string,
  action: string,
  blob: BlobRef,
  nowMs: number,
  extra: Record<string, string> = {},
) {
  return presignUrl(base, path, {
    action,
    params: { owner: blob.owner, project: blob.project, hash: blob.hash, ...extra },
    secrets: config.presignSecrets,
    now: Math.floor(nowMs / 1000),
    ttlSeconds: config.presignTtlSeconds,
  });
}

/** What a grant binds an upload to beyond its blob: the file's size when stated, and the grantee. */
export interface GrantBinding {
  /** Decimal bytes; BSS then takes no part beyond it and completes no blob of another size. */
  size?: number | undefined;
  /** The user the grant was given to; BSS lets only this user's grants act on the upload. */
  user?: string | undefined;
}

/**
 * Signed URLs for the five BSS multipart endpoints of one blob, all scoped to owner, project and
 * hash, and to the size and user when given (each one more signed param).
 */
export function uploadUrls(
  config: SigningConfig & Pick<ServerConfig, 'bssPublicUrl'>,
  type: AssetType,
  blob: BlobRef,
  nowMs: number,
  binding: GrantBinding = {},
): UploadUrls {
  const urls = {} as Record<string, string>;
  const extra: Record<string, string> = {};
  if (binding.size !== undefined) extra.size = String(binding.size);
  if (binding.user !== undefined) extra.user = binding.user;
  let exp = 0;
  for (const { field, step, action } of UPLOAD_STEPS) {
    const result = signed(config, config.bssPublicUrl, multipartPath(type, step), action, blob, nowMs, extra);
    urls[field] = result.url;
    exp = result.exp;
  }
  return {
    ...(urls as Record<UploadUrlField, string>),
    expiresAt: new Date(exp * 1000).toISOString(),
  };
}

/** A signed `GET /blobs/stat` or `GET /blobs/download` URL on the given BSS base. */
export function blobUrl(
  config: SigningConfig,
  base: string,
  action: 'stat' | 'download',
  blob: BlobRef,
  nowMs: number,
) {
  const { url, exp } = signed(config, base, blobPath(action), action, blob, nowMs);
  return { url, expiresAt: new Date(exp * 1000).toISOString() };
}

/**
 * A signed single-shot upload URL (`{type}/upload/single`, action `upload-single`) for a blob of
 * exactly `size` bytes, on the public BSS address.
 */
export function singleUploadUrl(
  config: SigningConfig & Pick<ServerConfig, 'bssPublicUrl'>,
  type: AssetType,
  blob: BlobRef,
  size: number,
  nowMs: number,
): string {
  return signed(config, config.bssPublicUrl, singlePath(type), ACTIONS.uploadSingle, blob, nowMs, {
    size: String(size),
  }).url;
}
