import type { FastifyInstance } from 'fastify';
import { caller } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { BATCH_MAX_BODY_BYTES } from '../limits.ts';
import { batchGrant, batchGrantEntry } from '../services/upload-batch.ts';
import { initUpload, uploadInitBody } from '../services/upload-init.ts';
import { batchGrantAnswer, batchOf, uploadGrant } from './answers.ts';
import { bodyLimit } from './body-limit.ts';
import { signedIn } from './route-docs.ts';

export function uploadRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const initDoc = signedIn({
    summary: 'Upload grant for one file: five signed BSS URLs, or exists when the space already holds it',
    tags: ['uploads'],
    body: uploadInitBody,
    responses: { 200: uploadGrant },
    errors: ['not_found', 'too_large'],
  });
  app.post('/uploads/init', { onRequest: ctx.authenticate, config: { doc: initDoc } }, async (request) => {
    return initUpload(ctx, caller(request), request.body, request.ip);
  });

  const batchDoc = signedIn({
    summary: 'Upload grants for up to 1,000 files of one space, each answered on its own',
    tags: ['uploads'],
    body: uploadInitBody.pick({ namespace: true, space: true }).extend(batchOf(batchGrantEntry).shape),
    responses: { 200: batchGrantAnswer },
    errors: ['not_found', 'too_large'],
  });
  const batchOptions = { onRequest: ctx.authenticate, ...bodyLimit(BATCH_MAX_BODY_BYTES), config: { doc: batchDoc } };
  app.post('/uploads/batch', batchOptions, async (request) => {
    return batchGrant(ctx, caller(request), request.body, request.ip);
  });
}
