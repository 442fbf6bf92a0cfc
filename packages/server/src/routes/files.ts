import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { caller } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { BATCH_MAX_BODY_BYTES, LOOKUP_MAX_BODY_BYTES } from '../limits.ts';
import { nameSchema } from '../names.ts';
import { registerFiles } from '../services/file-batch.ts';
import { downloadGrant } from '../services/file-download.ts';
import { registerFile } from '../services/file-index.ts';
import { listSpaceFilesPage } from '../services/file-list.ts';
import { lookupFiles } from '../services/file-lookup.ts';
import { bodyLimit } from './body-limit.ts';

export const spaceParams = z.object({ ns: nameSchema, space: nameSchema });

export function fileRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const where = (params: unknown) => {
    const { ns, space } = parseOrThrow(spaceParams, params, 'path');
    return { namespace: ns, space };
  };

  app.post('/namespaces/:ns/spaces/:space/files', { onRequest: ctx.authenticate }, async (request, reply) => {
    const { created, file } = await registerFile(ctx, caller(request), where(request.params), request.body);
    return reply.code(created ? 201 : 200).send({ file });
  });

  app.post(
    '/namespaces/:ns/spaces/:space/files/lookup',
    { onRequest: ctx.authenticate, ...bodyLimit(LOOKUP_MAX_BODY_BYTES) },
    async (request) => {
      return lookupFiles(ctx, caller(request), where(request.params), request.body);
    },
  );

  app.post(
    '/namespaces/:ns/spaces/:space/files/batch',
    { onRequest: ctx.authenticate, ...bodyLimit(BATCH_MAX_BODY_BYTES) },
    async (request) => {
      return registerFiles(ctx, caller(request), where(request.params), request.body);
    },
  );

  app.get('/namespaces/:ns/spaces/:space/files', { onRequest: ctx.authenticate }, async (request) => {
    return listSpaceFilesPage(ctx, caller(request), where(request.params), request.query);
  });

  app.get('/namespaces/:ns/spaces/:space/files/download', { onRequest: ctx.authenticate }, async (request) => {
    return downloadGrant(ctx, caller(request), where(request.params), request.query);
  });
}
