import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '@dreamlake/presign';
import { parseOrThrow } from '@dreamlake/presign/http';
import { nowIso, type ServerContext } from '../context.ts';
import { caller } from '../auth/authenticate.ts';
import { hashAccessToken, newAccessToken } from '../auth/tokens.ts';
import { insertAccessToken, listAccessTokens, revokeAccessToken } from '../db/access-tokens.ts';

const createBody = z.object({ name: z.string().trim().min(1).max(100) });
const idParams = z.object({ id: z.string().min(1).max(100) });

/** Personal access tokens: shown once at creation, stored as SHA-256 only. */
export function tokenRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/auth/tokens', { onRequest: ctx.authenticate }, async (request, reply) => {
    const { name } = parseOrThrow(createBody, request.body);
    const token = newAccessToken();
    const stored = await insertAccessToken(ctx.db, { userId: caller(request).id, name, tokenHash: hashAccessToken(token), now: nowIso(ctx) });
    return reply.code(201).send({ id: stored.id, name: stored.name, token, createdAt: stored.createdAt });
  });

  app.get('/auth/tokens', { onRequest: ctx.authenticate }, async (request) => {
    return { tokens: await listAccessTokens(ctx.db, caller(request).id) };
  });

  app.delete('/auth/tokens/:id', { onRequest: ctx.authenticate }, async (request, reply) => {
    const { id } = parseOrThrow(idParams, request.params, 'path');
    if (!(await revokeAccessToken(ctx.db, caller(request).id, id, nowIso(ctx)))) throw new NotFoundError('no such token');
    return reply.code(204).send();
  });
}
