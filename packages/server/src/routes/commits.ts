import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { caller } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { BATCH_MAX_BODY_BYTES } from '../limits.ts';
import { nameSchema } from '../names.ts';
import { commitBody, commitChanges } from '../services/commits.ts';
import {
  addDraftEntries,
  commitDraft,
  createDraft,
  discardDraft,
  draftBody,
  draftChangesBody,
  draftCommitBody,
} from '../services/drafts.ts';
import { restoreBody, restoreVersion } from '../services/restore.ts';
import { commitAnswer, draftEntries, draftView } from './answers.ts';
import { bodyLimit } from './body-limit.ts';
import { spaceParams } from './files.ts';
import { signedIn } from './route-docs.ts';

export const draftParams = z.object({ ns: nameSchema, space: nameSchema, id: z.string().min(1).max(100) });
const spacePath = '/namespaces/:ns/spaces/:space';

/** Commits, drafts of commits, and restores: each makes at most one new version of a space. */
export function commitRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const at = (params: unknown) => {
    const { ns, space, id } = parseOrThrow(draftParams.partial({ id: true }), params, 'path');
    return { where: { namespace: ns, space }, id: id ?? '' };
  };
  const batch = { onRequest: ctx.authenticate, ...bodyLimit(BATCH_MAX_BODY_BYTES) };

  const commitDoc = signedIn({
    summary: 'Apply up to 1,000 puts and deletes as one new version (201), or answer head when nothing changes (200)',
    tags: ['versions'],
    params: spaceParams,
    body: commitBody,
    responses: { 200: commitAnswer, 201: commitAnswer },
    errors: ['not_found', 'conflict', 'too_large', 'storage_unavailable'],
  });
  app.post(`${spacePath}/commits`, { ...batch, config: { doc: commitDoc } }, async (request, reply) => {
    const { status, body } = await commitChanges(ctx, caller(request), at(request.params).where, request.body);
    return reply.code(status).send(body);
  });

  const draftDoc = signedIn({
    summary: 'Open a draft: a commit built in batches',
    tags: ['versions'],
    params: spaceParams,
    body: draftBody,
    responses: { 201: draftView },
    errors: ['not_found'],
  });
  app.post(
    `${spacePath}/drafts`,
    { onRequest: ctx.authenticate, config: { doc: draftDoc } },
    async (request, reply) => {
      return reply.code(201).send(await createDraft(ctx, caller(request), at(request.params).where, request.body));
    },
  );

  const entriesDoc = signedIn({
    summary: 'Add up to 1,000 changes to a draft (a name given again replaces its entry)',
    tags: ['versions'],
    params: draftParams,
    body: draftChangesBody,
    responses: { 200: draftEntries },
    errors: ['not_found', 'conflict', 'too_large', 'storage_unavailable'],
  });
  app.post(`${spacePath}/drafts/:id/entries`, { ...batch, config: { doc: entriesDoc } }, async (request) => {
    const { where, id } = at(request.params);
    return addDraftEntries(ctx, caller(request), where, id, request.body);
  });

  const draftCommitDoc = signedIn({
    summary: "Commit a draft as one new version, against the draft's parent",
    tags: ['versions'],
    params: draftParams,
    body: draftCommitBody,
    responses: { 200: commitAnswer, 201: commitAnswer },
    errors: ['not_found', 'conflict', 'too_large', 'storage_unavailable'],
  });
  const draftCommitOptions = { onRequest: ctx.authenticate, config: { doc: draftCommitDoc } };
  app.post(`${spacePath}/drafts/:id/commit`, draftCommitOptions, async (request, reply) => {
    const { where, id } = at(request.params);
    const { status, body } = await commitDraft(ctx, caller(request), where, id, request.body);
    return reply.code(status).send(body);
  });

  const dropDoc = signedIn({
    summary: 'Drop a draft',
    tags: ['versions'],
    params: draftParams,
    responses: { 204: 'dropped' },
    errors: ['not_found'],
  });
  app.delete(
    `${spacePath}/drafts/:id`,
    { onRequest: ctx.authenticate, config: { doc: dropDoc } },
    async (request, reply) => {
      const { where, id } = at(request.params);
      await discardDraft(ctx, caller(request), where, id);
      return reply.code(204).send();
    },
  );

  const restoreDoc = signedIn({
    summary: 'Make a new version equal to an earlier one',
    tags: ['versions'],
    params: spaceParams,
    body: restoreBody,
    responses: { 200: commitAnswer, 201: commitAnswer },
    errors: ['not_found', 'conflict'],
  });
  app.post(
    `${spacePath}/restore`,
    { onRequest: ctx.authenticate, config: { doc: restoreDoc } },
    async (request, reply) => {
      const { status, body } = await restoreVersion(ctx, caller(request), at(request.params).where, request.body);
      return reply.code(status).send(body);
    },
  );
}
