import { ForbiddenError, InvalidRequestError, NotFoundError } from '@dreamlake/presign';
import { parseOrThrow } from '@dreamlake/presign/http';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { caller } from '../auth/authenticate.ts';
import { SCOPES } from '../auth/scopes.ts';
import { hashAccessToken, newAccessToken } from '../auth/tokens.ts';
import { nowIso, type ServerContext } from '../context.ts';
import { insertAccessToken, listAccessTokens, revokeAccessToken } from '../db/access-tokens.ts';
import { NO_NUL } from '../names.ts';

const MAX_DAYS = 3650;
const DAY_MS = 24 * 3600 * 1000;
export const createBody = z
  .object({
    name: z.string().trim().min(1).max(100).regex(NO_NUL, 'must not contain a NUL character'),
    /** Defaults to every scope the caller's credential holds. */
    scopes: z.array(z.enum(SCOPES)).min(1).optional(),
    expiresInDays: z.number().int().min(1).max(MAX_DAYS).optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
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
    throw new InvalidRequestError(`expiresAt must be in the future, within ${MAX_DAYS} days`);
  return new Date(at).toISOString();
}

/** Personal access tokens: shown once at creation, stored as SHA-256 only; scoped, optionally expiring. */
export function tokenRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/auth/tokens', { onRequest: ctx.authenticate }, async (request, reply) => {
    const body = parseOrThrow(createBody, request.body);
    const user = caller(request);
    const scopes = body.scopes ?? [...user.scopes];
    const beyond = scopes.filter((s) => !user.scopes.includes(s));
    if (beyond.length > 0)
      throw new ForbiddenError(`a token cannot grant scopes it does not hold: ${beyond.join(', ')}`);
    const token = newAccessToken();
    const stored = await insertAccessToken(ctx.db, {
      userId: user.id,
      name: body.name,
      tokenHash: hashAccessToken(token),
      scopes,
      expiresAt: expiryOf(body, ctx.clock()),
      now: nowIso(ctx),
    });
    return reply.code(201).send({
      id: stored.id,
      name: stored.name,
      token,
      scopes: stored.scopes,
      createdAt: stored.createdAt,
      expiresAt: stored.expiresAt,
    });
  });

  app.get('/auth/tokens', { onRequest: ctx.authenticate }, async (request) => {
    return { tokens: await listAccessTokens(ctx.db, caller(request).id) };
  });

  app.delete('/auth/tokens/:id', { onRequest: ctx.authenticate }, async (request, reply) => {
    const { id } = parseOrThrow(idParams, request.params, 'path');
    if (!(await revokeAccessToken(ctx.db, caller(request).id, id, nowIso(ctx))))
      throw new NotFoundError('no such token');
    return reply.code(204).send();
  });
}
