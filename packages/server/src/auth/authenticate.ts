import { UnauthorizedError } from '@dreamlake/presign';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { findActiveTokenOwner, TOUCH_INTERVAL_MS, touchAccessToken } from '../db/access-tokens.ts';
import type { DB } from '../db/open.ts';
import { findUserById } from '../db/users.ts';
import type { JwtIssuer } from './jwt.ts';
import { requiredScope, requireScope, SCOPES, type Scope } from './scopes.ts';
import { hashAccessToken, isAccessToken } from './tokens.ts';
import { createTtlCache } from './ttl-cache.ts';

export interface AuthUser {
  id: string;
  username: string;
  /** What the credential may do: every scope for a JWT, the token's own for an access token. */
  scopes: readonly Scope[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set by the `authenticate` hook. */
    user: AuthUser | null;
  }
}

/** How long a verified JWT and its user are remembered (never past the JWT's own `exp`). */
const JWT_CACHE_TTL_MS = 60_000;
const CACHE_MAX_ENTRIES = 10_000;

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * An onRequest hook: a valid JWT or unrevoked, unexpired personal access token in
 * `Authorization: Bearer` puts the caller on `request.user`; anything else is 401. The route's
 * scope (auth/scopes.ts) must be among the credential's, else 403.
 *
 * A personal access token is looked up on every request, so a revoked one stops working at once
 * on every server process. A JWT carries its user's token epoch, which a password change moves
 * on: once verified against the user's current epoch, a JWT is remembered for a minute (never
 * past its `exp`), so a busy client costs neither a signature check nor a query per request. The
 * process that changes a password forgets that user's JWTs at once (`forgetUser`); other
 * processes refuse them within that minute.
 */
export function createAuthenticate(deps: { db: DB; jwt: JwtIssuer; clock: () => number }) {
  const { db, jwt, clock } = deps;
  const verified = createTtlCache<{ user: AuthUser; expiresAtMs: number }>(JWT_CACHE_TTL_MS, CACHE_MAX_ENTRIES);
  /** When this process last recorded a use of a token, by token id. */
  const touched = createTtlCache<true>(TOUCH_INTERVAL_MS, CACHE_MAX_ENTRIES);

  async function userFor(token: string): Promise<AuthUser | null> {
    const now = clock();
    if (isAccessToken(token)) {
      const owner = await findActiveTokenOwner(db, hashAccessToken(token), new Date(now).toISOString());
      if (!owner) return null;
      if (!touched.get(owner.tokenId, now)) {
        await touchAccessToken(db, owner.tokenId, now);
        touched.set(owner.tokenId, true, now);
      }
      return { id: owner.userId, username: owner.username, scopes: owner.scopes };
    }
    const known = verified.get(token, now);
    if (known && now < known.expiresAtMs) return known.user;
    const claims = await jwt.verify(token, now);
    if (!claims) return null;
    const user = await findUserById(db, claims.userId);
    if (!user || user.tokenEpoch !== claims.epoch) return null;
    const found = { id: user.id, username: user.username, scopes: SCOPES };
    verified.set(token, { user: found, expiresAtMs: claims.expiresAtMs }, now);
    return found;
  }

  async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const token = bearer(request);
    if (!token) throw new UnauthorizedError('a bearer token is required');
    const user = await userFor(token);
    if (!user) throw new UnauthorizedError('the token is invalid, expired or revoked');
    requireScope(user.scopes, requiredScope(request.method, request.routeOptions.url));
    request.user = user;
  }

  return Object.assign(authenticate, {
    /** Forgets the remembered JWTs of a user (after their password changed). */
    forgetUser(userId: string): void {
      verified.deleteWhere((entry) => entry.user.id === userId);
    },
  });
}

/** The caller, for handlers behind `authenticate`. */
export function caller(request: FastifyRequest): AuthUser {
  if (!request.user) throw new UnauthorizedError();
  return request.user;
}
