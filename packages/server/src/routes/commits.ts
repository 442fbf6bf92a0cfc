import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { caller } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { BATCH_MAX_BODY_BYTES } from '../limits.ts';
import { nameSchema } from '../names.ts';
import { commitChanges } from '../services/commits.ts';
import { addDraftEntries, commitDraft, createDraft, discardDraft } from '../services/drafts.ts';
import { restoreVersion } from '../services/restore.ts';
import { bodyLimit } from './body-limit.ts';

export const draftParams = z.object({ ns: nameSchema, space: nameSchema, id: z.string().min(1).max(100) });
const spacePath = '/namespaces/:ns/spaces/:space';

/** Commits, drafts of commits, and restores: each makes at most one new version of a space. */
export function commitRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const at = (params: unknown) => {
    const { ns, space, id } = parseOrThrow(draftParams.partial({ id: true }), params, 'path');
    return { where: { namespace: ns, space }, id: id ?? '' };
  };
  const options = { onRequest: ctx.authenticate, ...bodyLimit(BATCH_MAX_BODY_BYTES) };

  app.post(`${spacePath}/commits`, options, async (request, reply) => {
    const { status, body } = await commitChanges(ctx, caller(request), at(request.params).where, request.body);
    return reply.code(status).send(body);
  });

  app.post(`${spacePath}/drafts`, { onRequest: ctx.authenticate }, async (request, reply) => {
    return reply.code(201).send(await createDraft(ctx, caller(request), at(request.params).where, request.body));
  });

  app.post(`${spacePath}/drafts/:id/entries`, options, async (request) => {
    const { where, id } = at(request.params);
    return addDraftEntries(ctx, caller(request), where, id, request.body);
  });

  app.post(`${spacePath}/drafts/:id/commit`, { onRequest: ctx.authenticate }, async (request, reply) => {
    const { where, id } = at(request.params);
    const { status, body } = await commitDraft(ctx, caller(request), where, id, request.body);
    return reply.code(status).send(body);
  });

  app.delete(`${spacePath}/drafts/:id`, { onRequest: ctx.authenticate }, async (request, reply) => {
    const { where, id } = at(request.params);
    await discardDraft(ctx, caller(request), where, id);
    return reply.code(204).send();
  });

  app.post(`${spacePath}/restore`, { onRequest: ctx.authenticate }, async (request, reply) => {
    const { status, body } = await restoreVersion(ctx, caller(request), at(request.params).where, request.body);
    return reply.code(status).send(body);
  });
}
