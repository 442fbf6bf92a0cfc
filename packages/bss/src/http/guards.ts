import { presignGuard } from '@dreamlake/service';
import type { FastifyRequest } from 'fastify';
import type { BssContext } from './context.ts';

export const SCOPE_PARAMS = ['owner', 'project', 'hash'] as const;
export const SINGLE_PARAMS = ['owner', 'project', 'hash', 'size'] as const;
export const PART_PARAMS = ['owner', 'project', 'hash', 'uploadId', 'partNumber', 'maxLength', 'contentMd5'] as const;
/** Signed into a part URL when the client declared the part's CRC-32 (URLs of older BSSs lack it). */
export const PART_OPTIONAL_PARAMS = ['checksumCrc32'] as const;

/**
 * Params a grant may add to the scope of the five upload URLs. Each is signed when the URL
 * carries it; a URL without them (an older grant) stays valid. Removing one from a URL that was
 * signed with it, or adding one to a URL signed without it, breaks the signature.
 */
export const GRANT_PARAMS = ['size', 'user'] as const;

/**
 * The guard of the five upload endpoints: the scope, plus whichever grant params the URL
 * carries. Unsigned requests pass only with the rollout switch off.
 */
export function uploadGuard(ctx: BssContext, action: string) {
  return presignGuard({
    action,
    signed: SCOPE_PARAMS,
    optional: GRANT_PARAMS,
    secrets: ctx.config.secrets,
    clock: ctx.clock,
    maxLifetimeSeconds: ctx.config.presignTtlSeconds,
    clockSkewSeconds: ctx.config.clockSkewSeconds,
    allowUnsigned: () => !ctx.config.requirePresignedUploads,
  });
}

/** A guard that always wants a signature (downloads, stat, part PUTs, triggers). */
export function signedGuard(
  ctx: BssContext,
  action: Parameters<typeof presignGuard>[0]['action'],
  signed: readonly string[] = SCOPE_PARAMS,
  optional: readonly string[] = [],
) {
  return presignGuard({
    action,
    signed,
    optional,
    secrets: ctx.config.secrets,
    clock: ctx.clock,
    maxLifetimeSeconds: ctx.config.presignTtlSeconds,
    clockSkewSeconds: ctx.config.clockSkewSeconds,
  });
}

/**
 * How long a URL minted in answer to this request may live: BSS's own TTL, but never past the
 * signed URL that asked for it (at least one second, so a URL is always usable once).
 */
export function secondsLeft(ctx: BssContext, request: FastifyRequest): number {
  const ttl = ctx.config.presignTtlSeconds;
  if (!request.presign) return ttl;
  return Math.max(1, Math.min(ttl, request.presign.exp - ctx.clock()));
}
