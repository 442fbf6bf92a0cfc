import { DreamLakeError } from '@dreamlake/presign';
import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type Credential, caller } from '../auth/authenticate.ts';
import { SCOPES } from '../auth/scopes.ts';
import { hashAccessToken, newAccessToken } from '../auth/tokens.ts';
import { nowIso, type ServerContext } from '../context.ts';
import {
  insertAccessToken,
  isTokenUnrevoked,
  listAccessTokens,
  revokeAccessToken,
  sessionEpochOf,
} from '../db/access-tokens.ts';
import { NO_NUL } from '../names.ts';
import { confirmPassword } from '../services/accounts.ts';
import { createdToken, tokenView } from './answers.ts';
import { signedIn } from './route-docs.ts';

const MAX_DAYS = 3650;
const DAY_MS = 24 * 3600 * 1000;
export const createBody = z
  .object({
    name: z.string().trim().min(1).max(100).regex(NO_NUL, 'must not contain a NUL character'),
    /** Defaults to every scope the caller's credential holds. */
    scopes: z.array(z.enum(SCOPES)).min(1).optional(),
    expiresInDays: z.number().int().min(1).max(MAX_DAYS).optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    /**
     * The caller's password, given again: a token minted with a login session then need not
     * expire with that session. It lifts no limit for a token minted by another token.
     */
    password: z.string().min(1).max(1024).optional(),
  })
  .refine((b) => b.expiresInDays === undefined || b.expiresAt === undefined, {
    message: 'give expiresInDays or expiresAt, not both',
  });
export const idParams = z.object({ id: z.string().min(1).max(100).regex(NO_NUL, 'must not contain a NUL character') });

function expiryOf(body: { expiresInDays?: number; expiresAt?: string }, nowMs: number): string | null {
  if (body.expiresInDays !== undefined) return new Date(nowMs + body.expiresInDays * DAY_MS).toISOString();
  if (body.expiresAt === undefined) return null;
  const at = Date.parse(body.expiresAt);
  if (at <= nowMs || at > nowMs + MAX_DAYS * DAY_MS)
    throw new DreamLakeError('invalid_request', `expiresAt must be in the future, within ${MAX_DAYS} days`);
  return new Date(at).toISOString();
}

/**
 * A token never outlives what minted it: the latest expiry the minting credential allows (null:
 * none). A login session's own, unless the password was given again; an access token's own.
 */
const latestExpiry = (minter: Credential, passwordGiven: boolean): string | null =>
  minter.kind === 'session' && passwordGiven ? null : minter.expiresAt;

/** The asked expiry within `latest`: none asked is `latest`; one past it is 400, never cut short silently. */
function cappedExpiry(asked: string | null, latest: string | null): string | null {
  if (latest === null) return asked;
  if (asked === null) return latest;
  if (Date.parse(asked) > Date.parse(latest))
    throw new DreamLakeError(
      'invalid_request',
      `the token would expire after the credential minting it (${latest}): ask for an expiry no later than that` +
        ', or, signed in with a login session, give your password again',
    );
  return asked;
}

/** Personal access tokens: shown once at creation, stored as SHA-256 only; scoped, optionally expiring. */
export function tokenRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const createDoc = signedIn({
    summary: 'Create a personal access token (shown once)',
    tags: ['tokens'],
    body: createBody,
    responses: { 201: createdToken },
  });
  app.post('/auth/tokens', { onRequest: ctx.authenticate, config: { doc: createDoc } }, async (request, reply) => {
    const body = parseOrThrow(createBody, request.body);
    const user = caller(request);
    const scopes = body.scopes ?? [...user.scopes];
    const beyond = scopes.filter((s) => !user.scopes.includes(s));
    if (beyond.length > 0)
      throw new DreamLakeError('forbidden', `a token cannot grant scopes it does not hold: ${beyond.join(', ')}`);
    const minter = user.credential;
    const expiresAt = cappedExpiry(expiryOf(body, ctx.clock()), latestExpiry(minter, body.password !== undefined));
    if (body.password !== undefined) await confirmPassword(ctx, user, body.password, request.ip);
    const token = newAccessToken();
    const parentId = minter.kind === 'token' ? minter.tokenId : null;
    // A login session's token without the password given again ends with that session, and so
    // does every token minted from it (the password lifts no limit for a token's children).
    const sessionEpoch =
      minter.kind === 'session'
        ? body.password === undefined
          ? minter.epoch
          : null
        : await sessionEpochOf(ctx.db, minter.tokenId);
    const stored = await insertAccessToken(ctx.db, {
      userId: user.id,
      name: body.name,
      tokenHash: hashAccessToken(token),
      scopes,
      expiresAt,
      parentId,
      sessionEpoch,
      now: nowIso(ctx),
    });
    // The minter may have been revoked since it was checked: then so is this token.
    if (parentId !== null && !(await isTokenUnrevoked(ctx.db, parentId))) {
      await revokeAccessToken(ctx.db, user.id, stored.id, nowIso(ctx));
      throw new DreamLakeError('unauthorized', 'the token is invalid, expired or revoked');
    }
    return reply.code(201).send({
      id: stored.id,
      name: stored.name,
      token,
      scopes: stored.scopes,
      createdAt: stored.createdAt,
      expiresAt: stored.expiresAt,
    });
  });

  const listDoc = signedIn({
    summary: 'Your personal access tokens',
    tags: ['tokens'],
    responses: { 200: z.object({ tokens: tokenView.array() }) },
  });
  app.get('/auth/tokens', { onRequest: ctx.authenticate, config: { doc: listDoc } }, async (request) => {
    return { tokens: await listAccessTokens(ctx.db, caller(request).id) };
  });

  const revokeDoc = signedIn({
    summary: 'Revoke a personal access token',
    tags: ['tokens'],
    params: idParams,
    responses: { 204: 'revoked' },
    errors: ['not_found'],
  });
  app.delete(
    '/auth/tokens/:id',
    { onRequest: ctx.authenticate, config: { doc: revokeDoc } },
    async (request, reply) => {
      const { id } = parseOrThrow(idParams, request.params, 'path');
      if (!(await revokeAccessToken(ctx.db, caller(request).id, id, nowIso(ctx))))
        throw new DreamLakeError('not_found', 'no such token');
      return reply.code(204).send();
    },
  );
}
