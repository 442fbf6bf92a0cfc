import { presignUrl, presignUrls } from '@dreamlake/presign';
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
  const params: Record<string, string> = { owner: blob.owner, project: blob.project, hash: blob.hash };
  if (binding.size !== undefined) params.size = String(binding.size);
  if (binding.user !== undefined) params.user = binding.user;
  const { urls, exp } = presignUrls(config.bssPublicUrl, stepTargets(type), {
    params,
    secrets: config.presignSecrets,
    now: Math.floor(nowMs / 1000),
    ttlSeconds: config.presignTtlSeconds,
  });
  const grant = {} as Record<string, string>;
  UPLOAD_STEPS.forEach(({ field }, i) => {
    grant[field] = urls[i] as string;
  });
  return {
    ...(grant as Record<UploadUrlField, string>),
    expiresAt: new Date(exp * 1000).toISOString(),
  };
}

/** The five multipart endpoints' paths and actions, by asset type (made once each). */
const targets = new Map<AssetType, { path: string; action: string }[]>();
function stepTargets(type: AssetType): { path: string; action: string }[] {
  let list = targets.get(type);
  if (!list) {
    list = UPLOAD_STEPS.map(({ step, action }) => ({ path: multipartPath(type, step), action }));
    targets.set(type, list);
  }
  return list;
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
