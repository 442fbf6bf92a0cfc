import { hasSignature, MAX_LIFETIME_SECONDS, type RawQuery, type VerifiedScope, verify } from '@dreamlake/presign';
import type { FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified signed scope, or null when an unsigned request was let through. */
    presign: VerifiedScope | null;
  }
}

export interface PresignGuardOptions {
  /** The action the signature must be for; a function for routes like `lambda-<name>`. */
  action: string | ((request: FastifyRequest) => string);
  /** Query params the signature covers. */
  signed: readonly string[];
  /** Query params the signature covers when present (see `verify`). */
  optional?: readonly string[];
  secrets: readonly string[];
  maxLifetimeSeconds?: number;
  /** Seconds this clock may be off from the signer's (see `verify`); 0 unless given. */
  clockSkewSeconds?: number;
  /** Unix seconds now; injectable for tests. */
  clock?: () => number;
  /**
   * When this answers true for a request that carries no signature at all, the request goes on
   * with `request.presign = null` (the legacy rollout). A request that carries a signature is
   * always verified.
   */
  allowUnsigned?: (request: FastifyRequest) => boolean;
}

const systemClock = () => Math.floor(Date.now() / 1000);

/**
 * A Fastify hook (use it as a route's `onRequest`, so nothing of an unsigned body is read) that
 * verifies the request's presigned query and leaves the verified scope on `request.presign`.
 * Failures throw the typed presign errors, which the shared error handler turns into JSON.
 */
export function presignGuard(options: PresignGuardOptions) {
  if (options.secrets.length === 0 || options.secrets.some((s) => s.length === 0)) {
    throw new TypeError('presignGuard: secrets must be a non-empty list of non-empty strings');
  }
  if (options.signed.length === 0) throw new TypeError('presignGuard: signed must name at least one param');
  if (typeof options.action === 'string' && options.action.length === 0)
    throw new TypeError('presignGuard: action is empty');
  const maxLifetimeSeconds = options.maxLifetimeSeconds ?? MAX_LIFETIME_SECONDS;
  const clock = options.clock ?? systemClock;
  const { signed, optional, secrets, allowUnsigned } = options;
  const actionFor = typeof options.action === 'function' ? options.action : () => options.action as string;

  return async function verifyPresignedRequest(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const query = (request.query ?? {}) as RawQuery;
    if (!hasSignature(query) && allowUnsigned?.(request)) {
      request.presign = null;
      return;
    }
    request.presign = verify({
      action: actionFor(request),
      signed,
      ...(optional ? { optional } : {}),
      query,
      secrets,
      now: clock(),
      maxLifetimeSeconds,
      clockSkewSeconds: options.clockSkewSeconds ?? 0,
    });
  };
}
