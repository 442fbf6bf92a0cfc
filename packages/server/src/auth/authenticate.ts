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

/** A JWT's checked claims: its user, the token epoch it was issued at, and its `exp` (ms, and as ISO text). */
export interface SessionClaims {
  userId: string;
  epoch: number;
  expiresAtMs: number;
  expiresAt: string;
}

/**
 * Sessions whose JWT an `authenticate.deferringSession` hook checked and whose user's epoch the
 * route reads itself (`settleSession`); `caller` refuses such a request until it is settled.
 */
const unsettled = new WeakMap<FastifyRequest, SessionClaims>();

/** The caller of a session, or null when the user is gone or the session ended (its epoch moved on). */
function sessionCaller(
  claims: SessionClaims,
  user: { username: string; tokenEpoch: number } | undefined,
): AuthUser | null {
  if (!user || user.tokenEpoch !== claims.epoch) return null;
  return {
    id: claims.userId,
    username: user.username,
    scopes: SCOPES,
    credential: { kind: 'session', expiresAt: claims.expiresAt, epoch: claims.epoch },
  };
}

const refused = () => new DreamLakeError('unauthorized', 'the token is invalid, expired or revoked');

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
 *
 * `authenticate.deferringSession` is the same hook for a route that reads the user's epoch in a
 * query it makes anyway (an upload grant): a JWT's caller is set only once the route has settled
 * the session with that row (`settleSession`), and refused then as the hook would have.
 */
export function createAuthenticate(deps: { db: DB; jwt: JwtIssuer; clock: () => number }) {
  const { db, jwt, clock } = deps;
  const verified = createTtlCache<SessionClaims>(JWT_CACHE_TTL_MS, CACHE_MAX_ENTRIES);
  /** When this process last recorded a use of a token, by token id. */
  const touched = createTtlCache<true>(TOUCH_INTERVAL_MS, CACHE_MAX_ENTRIES);

  async function tokenUser(token: string, now: number): Promise<AuthUser | null> {
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

  async function claimsOf(token: string, now: number): Promise<SessionClaims | null> {
    const claims = verified.get(token, now);
    if (claims && now < claims.expiresAtMs) return claims;
    const checked = await jwt.verify(token, now);
    if (!checked) return null;
    const session = { ...checked, expiresAt: new Date(checked.expiresAtMs).toISOString() };
    verified.set(token, session, now);
    return session;
  }

  function bearerOrRefuse(request: FastifyRequest): string {
    const token = bearer(request);
    if (!token) throw new DreamLakeError('unauthorized', 'a bearer token is required');
    return token;
  }

  async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const token = bearerOrRefuse(request);
    const now = clock();
    let user: AuthUser | null;
    if (isAccessToken(token)) user = await tokenUser(token, now);
    else {
      const claims = await claimsOf(token, now);
      user = claims && sessionCaller(claims, await findSessionUser(db, claims.userId));
    }
    if (!user) throw refused();
    requireScope(user.scopes, requiredScope(request.method, request.routeOptions.url));
    request.user = user;
  }

  async function deferringSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = bearerOrRefuse(request);
    if (isAccessToken(token)) return authenticate(request, reply);
    const claims = await claimsOf(token, clock());
    if (!claims) throw refused();
    requireScope(SCOPES, requiredScope(request.method, request.routeOptions.url));
    unsettled.set(request, claims);
  }

  /** Settles the request's session by the user's row read now (a route's error path, before it answers). */
  async function settle(request: FastifyRequest): Promise<void> {
    const claims = unsettled.get(request);
    if (claims) settleSession(request, await findSessionUser(db, claims.userId));
  }

  return Object.assign(authenticate, { deferringSession, settle });
}

/** The JWT claims of a request whose session a route settles itself; undefined once settled, or for any other. */
export function unsettledSession(request: FastifyRequest): SessionClaims | undefined {
  return unsettled.get(request);
}

/**
 * Settles the request's session with its user's row (name and current token epoch) read by the
 * route: the caller is set, or the request refused as 401 when the user is gone or the session
 * ended. Nothing to do for a request already authenticated.
 */
export function settleSession(
  request: FastifyRequest,
  user: { username: string; tokenEpoch: number } | undefined,
): void {
  const claims = unsettled.get(request);
  if (!claims) return;
  unsettled.delete(request);
  const settled = sessionCaller(claims, user);
  if (!settled) throw refused();
  request.user = settled;
}

/** The caller, for handlers behind `authenticate` (behind `deferringSession`, once settled). */
export function caller(request: FastifyRequest): AuthUser {
  if (!request.user) throw new DreamLakeError('unauthorized');
  return request.user;
}
