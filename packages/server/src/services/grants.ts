import type { AuthUser } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import type { UploadGrant } from '../db/upload-grants.ts';
import { SINGLE_UPLOAD_MAX_BYTES } from '../limits.ts';
import type { AssetType } from '../names.ts';
import { singleUploadUrl, type UploadUrls, uploadUrls } from '../signing.ts';

/** One file an upload grant is asked for (`/uploads/init` or one entry of `/uploads/batch`). */
export interface GrantRequest {
  namespace: string;
  space: string;
  filename: string;
  hash: string;
  contentType: string;
  type: AssetType;
  size: number;
}

/** The audit row of one answered grant request. */
export function auditRow(
  user: AuthUser,
  request: GrantRequest,
  outcome: UploadGrant['outcome'],
  ip: string,
  createdAt: string,
): UploadGrant {
  return {
    userId: user.id,
    username: user.username,
    namespace: request.namespace,
    space: request.space,
    hash: request.hash,
    filename: request.filename,
    type: request.type,
    size: request.size,
    contentType: request.contentType,
    outcome,
    ip,
    createdAt,
  };
}

export type BatchUploadUrls = UploadUrls & { singleUrl?: string };

/**
 * The five multipart URLs, bound to the declared size and to the user, plus
 * the single-shot URL when the declared size fits in one request.
 */
export function grantUrls(
  ctx: ServerContext,
  user: AuthUser,
  request: GrantRequest,
  nowMs: number,
  withSingle: boolean,
): BatchUploadUrls {
  const blob = { owner: request.namespace, project: request.space, hash: request.hash };
  const urls: BatchUploadUrls = uploadUrls(ctx.config, request.type, blob, nowMs, {
    size: request.size,
    user: user.id,
  });
  if (withSingle && request.size <= SINGLE_UPLOAD_MAX_BYTES) {
    urls.singleUrl = singleUploadUrl(ctx.config, request.type, blob, request.size, nowMs);
  }
  return urls;
}
