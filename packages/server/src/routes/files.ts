import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { caller } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { BATCH_MAX_BODY_BYTES, LOOKUP_MAX_BODY_BYTES } from '../limits.ts';
import { nameSchema } from '../names.ts';
import { registerFiles } from '../services/file-batch.ts';
import { downloadGrant, downloadQuery } from '../services/file-download.ts';
import { registerFile, registerFileBody } from '../services/file-index.ts';
import { listQuery, listSpaceFilesPage } from '../services/file-list.ts';
import { lookupEntry, lookupFiles } from '../services/file-lookup.ts';
import { batchOf, batchRegisterAnswer, downloadAnswer, fileView, lookupAnswer } from './answers.ts';
import { bodyLimit } from './body-limit.ts';
import { signedIn } from './route-docs.ts';

export const spaceParams = z.object({ ns: nameSchema, space: nameSchema });

export function fileRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const where = (params: unknown) => {
    const { ns, space } = parseOrThrow(spaceParams, params, 'path');
    return { namespace: ns, space };
  };

  const registerDoc = signedIn({
    summary: 'Register a verified blob under a file name (201 created, 200 already so)',
    tags: ['files'],
    params: spaceParams,
    body: registerFileBody,
    responses: { 200: z.object({ file: fileView }), 201: z.object({ file: fileView }) },
    errors: ['not_found', 'conflict', 'too_large', 'hash_mismatch', 'storage_unavailable'],
  });
  const registerOptions = { onRequest: ctx.authenticate, config: { doc: registerDoc } };
  app.post('/namespaces/:ns/spaces/:space/files', registerOptions, async (request, reply) => {
    const { created, file } = await registerFile(ctx, caller(request), where(request.params), request.body);
    return reply.code(created ? 201 : 200).send({ file });
  });

  const lookupDoc = signedIn({
    summary: 'Which of up to 10,000 name and hash pairs the space indexes or holds',
    tags: ['files'],
    params: spaceParams,
    body: batchOf(lookupEntry),
    responses: { 200: lookupAnswer },
    errors: ['not_found', 'too_large'],
  });
  app.post(
    '/namespaces/:ns/spaces/:space/files/lookup',
    { onRequest: ctx.authenticate, ...bodyLimit(LOOKUP_MAX_BODY_BYTES), config: { doc: lookupDoc } },
    async (request) => {
      return lookupFiles(ctx, caller(request), where(request.params), request.body);
    },
  );

  const batchDoc = signedIn({
    summary: 'Register up to 1,000 verified blobs, each answered on its own',
    tags: ['files'],
    params: spaceParams,
    body: batchOf(registerFileBody),
    responses: { 200: batchRegisterAnswer },
    errors: ['not_found', 'too_large'],
  });
  app.post(
    '/namespaces/:ns/spaces/:space/files/batch',
    { onRequest: ctx.authenticate, ...bodyLimit(BATCH_MAX_BODY_BYTES), config: { doc: batchDoc } },
    async (request) => {
      return registerFiles(ctx, caller(request), where(request.params), request.body);
    },
  );

  const listDoc = signedIn({
    summary: "A space's files, a page at a time in name order (follow `next` until it is absent)",
    tags: ['files'],
    params: spaceParams,
    query: listQuery,
    responses: {
      200: z.object({
        files: fileView.array(),
        next: z.string().optional().describe('the cursor of the next page; absent on the last'),
      }),
    },
    errors: ['not_found'],
  });
  app.get(
    '/namespaces/:ns/spaces/:space/files',
    { onRequest: ctx.authenticate, config: { doc: listDoc } },
    async (request) => {
      return listSpaceFilesPage(ctx, caller(request), where(request.params), request.query);
    },
  );

  const downloadDoc = signedIn({
    summary: 'A signed BSS download URL for one file',
    tags: ['files'],
    params: spaceParams,
    query: downloadQuery,
    responses: { 200: downloadAnswer },
    errors: ['not_found'],
  });
  const downloadOptions = { onRequest: ctx.authenticate, config: { doc: downloadDoc } };
  app.get('/namespaces/:ns/spaces/:space/files/download', downloadOptions, async (request) => {
    return downloadGrant(ctx, caller(request), where(request.params), request.query);
  });
}
