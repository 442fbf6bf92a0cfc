import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnauthorizedError } from '@dreamlake/presign';
import type { DB } from '../db/open.ts';
import { findUserById } from '../db/users.ts';
import { findActiveTokenOwner, touchAccessToken } from '../db/access-tokens.ts';
import type { JwtIssuer } from './jwt.ts';
import { hashAccessToken, isAccessToken } from './tokens.ts';

export interface AuthUser {
  id: string;
  username: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set by the `authenticate` hook. */
    user: AuthUser | null;
  }
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * A preHandler hook: a valid JWT or unrevoked personal access token in `Authorization: Bearer`
 * puts the caller on `request.user`; anything else is 401.
 */
export function createAuthenticate(deps: { db: DB; jwt: JwtIssuer; clock: () => number }) {
  const { db, jwt, clock } = deps;

  async function userFor(token: string): Promise<AuthUser | null> {
    if (isAccessToken(token)) {
      const owner = await findActiveTokenOwner(db, hashAccessToken(token));
      if (!owner) return null;
      await touchAccessToken(db, owner.tokenId, clock());
      return { id: owner.userId, username: owner.username };
    }
    const userId = await jwt.verify(token, clock());
    if (!userId) return null;
    const user = await findUserById(db, userId);
    return user ? { id: user.id, username: user.username } : null;
  }

  return async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const token = bearer(request);
    if (!token) throw new UnauthorizedError('a bearer token is required');
    const user = await userFor(token);
    if (!user) throw new UnauthorizedError('the token is invalid, expired or revoked');
    request.user = user;
  };
}

/** The caller, for handlers behind `authenticate`. */
export function caller(request: FastifyRequest): AuthUser {
  if (!request.user) throw new UnauthorizedError();
  return request.user;
}
