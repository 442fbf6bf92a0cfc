import type { Space } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireNamespaceRole } from '../access.ts';
import { caller } from '../auth/authenticate.ts';
import { nowIso, type ServerContext } from '../context.ts';
import { createSpace, listSpaces } from '../db/spaces.ts';
import { nameSchema } from '../names.ts';
import { spaceView } from './answers.ts';
import { signedIn } from './route-docs.ts';

export const nsParams = z.object({ ns: nameSchema });
export const spaceBody = z.object({ name: nameSchema });

export function spaceRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const createDoc = signedIn({
    summary: 'Create a space',
    tags: ['spaces'],
    params: nsParams,
    body: spaceBody,
    responses: { 201: spaceView },
    errors: ['not_found', 'conflict'],
  });
  app.post(
    '/namespaces/:ns/spaces',
    { onRequest: ctx.authenticate, config: { doc: createDoc } },
    async (request, reply) => {
      const { ns } = parseOrThrow(nsParams, request.params, 'path');
      const { name } = parseOrThrow(spaceBody, request.body);
      const user = caller(request);
      const { namespace } = await requireNamespaceRole(ctx.db, user.id, ns, 'writer');
      const space = await createSpace(ctx.db, {
        namespaceId: namespace.id,
        name,
        createdBy: user.id,
        now: nowIso(ctx),
      });
      return reply.code(201).send({ namespace: ns, name: space.name, createdAt: space.createdAt } satisfies Space);
    },
  );

  const listDoc = signedIn({
    summary: "A namespace's spaces",
    tags: ['spaces'],
    params: nsParams,
    responses: { 200: z.object({ spaces: spaceView.array() }) },
    errors: ['not_found'],
  });
  app.get('/namespaces/:ns/spaces', { onRequest: ctx.authenticate, config: { doc: listDoc } }, async (request) => {
    const { ns } = parseOrThrow(nsParams, request.params, 'path');
    const { namespace } = await requireNamespaceRole(ctx.db, caller(request).id, ns, 'reader');
    const spaces = await listSpaces(ctx.db, namespace.id);
    return { spaces: spaces.map((s): Space => ({ namespace: ns, name: s.name, createdAt: s.createdAt })) };
  });
}
