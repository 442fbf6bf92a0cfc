import type { BatchGrant, InitRequest } from '@dreamlake/protocol';
import type { AuthUser } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import type { GrantAuditRow } from '../db/upload-grants.ts';
import { SINGLE_UPLOAD_MAX_BYTES } from '../limits.ts';
import { singleUploadUrl, uploadUrls } from '../signing.ts';

/** The audit row of one answered grant request. */
export function auditRow(
  user: AuthUser,
  request: InitRequest,
  outcome: GrantAuditRow['outcome'],
  ip: string,
  createdAt: string,
): GrantAuditRow {
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

/**
 * The five multipart URLs, bound to the declared size and to the user, plus
 * the single-shot URL when the declared size fits in one request.
 */
export function grantUrls(
  ctx: ServerContext,
  user: AuthUser,
  request: InitRequest,
  nowMs: number,
  withSingle: boolean,
): BatchGrant {
  const blob = { owner: request.namespace, project: request.space, hash: request.hash };
  const urls: BatchGrant = uploadUrls(ctx.config, request.type, blob, nowMs, {
    size: request.size,
    user: user.id,
  });
  if (withSingle && request.size <= SINGLE_UPLOAD_MAX_BYTES) {
    urls.singleUrl = singleUploadUrl(ctx.config, request.type, blob, request.size, nowMs);
  }
  return urls;
}
