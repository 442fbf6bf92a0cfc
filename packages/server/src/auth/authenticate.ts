import { DreamLakeError } from '@dreamlake/presign';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { findActiveTokenOwner, TOUCH_INTERVAL_MS, touchAccessToken } from '../db/access-tokens.ts';
import type { DB } from '../db/open.ts';
import { findSessionUser } from '../db/users.ts';
import type { JwtIssuer } from './jwt.ts';
import { requiredScope, requireScope, SCOPES, type Scope } from './scopes.ts';
import { hashAccessToken, isAccessToken } from './tokens.ts';
import { createTtlCache } from './ttl-cache.ts';

export interface AuthUser {
  id: string;
  username: string;
  /** What the credential may do: every scope for a JWT, the token's own for an access token. */
  scopes: readonly Scope[];
  /** The credential itself: a login session (JWT) or an access token, and when it expires. */
  credential: Credential;
}

export type Credential =
  | { kind: 'session'; expiresAt: string; epoch: number }
  | { kind: 'token'; tokenId: string; expiresAt: string | null };

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set by the `authenticate` hook. */
    user: AuthUser | null;
  }
}

/** How long a JWT's checked signature is remembered (never past the JWT's own `exp`). */
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
 * on every server process. A JWT carries its user's token epoch, which a password change and a
 * logout move on: the user's current epoch is read from the database on every request too, so an
 * ended session is refused at once by every process. Only the JWT's signature check is
 * remembered (a minute, never past its `exp`).
 */
export function createAuthenticate(deps: { db: DB; jwt: JwtIssuer; clock: () => number }) {
  const { db, jwt, clock } = deps;
  const verified = createTtlCache<{ userId: string; epoch: number; expiresAtMs: number }>(
    JWT_CACHE_TTL_MS,
    CACHE_MAX_ENTRIES,
  );
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
      return {
        id: owner.userId,
        username: owner.username,
        scopes: owner.scopes,
        credential: { kind: 'token', tokenId: owner.tokenId, expiresAt: owner.expiresAt },
      };
    }
    let claims = verified.get(token, now);
    if (!claims || now >= claims.expiresAtMs) {
      claims = (await jwt.verify(token, now)) ?? undefined;
      if (!claims) return null;
      verified.set(token, claims, now);
    }
    const user = await findSessionUser(db, claims.userId);
    if (!user || user.tokenEpoch !== claims.epoch) return null;
    return {
      id: user.id,
      username: user.username,
      scopes: SCOPES,
      credential: { kind: 'session', expiresAt: new Date(claims.expiresAtMs).toISOString(), epoch: claims.epoch },
    };
  }

  async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const token = bearer(request);
    if (!token) throw new DreamLakeError('unauthorized', 'a bearer token is required');
    const user = await userFor(token);
    if (!user) throw new DreamLakeError('unauthorized', 'the token is invalid, expired or revoked');
    requireScope(user.scopes, requiredScope(request.method, request.routeOptions.url));
    request.user = user;
  }

  return authenticate;
}

/** The caller, for handlers behind `authenticate`. */
export function caller(request: FastifyRequest): AuthUser {
  if (!request.user) throw new DreamLakeError('unauthorized');
  return request.user;
}
