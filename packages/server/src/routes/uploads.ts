import type { FastifyInstance } from 'fastify';
import { caller } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { BATCH_MAX_BODY_BYTES } from '../limits.ts';
import { batchGrant } from '../services/upload-batch.ts';
import { initUpload } from '../services/upload-init.ts';
import { bodyLimit } from './body-limit.ts';

export function uploadRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/uploads/init', { onRequest: ctx.authenticate }, async (request) => {
    return initUpload(ctx, caller(request), request.body, request.ip);
  });

  app.post('/uploads/batch', { onRequest: ctx.authenticate, ...bodyLimit(BATCH_MAX_BODY_BYTES) }, async (request) => {
    return batchGrant(ctx, caller(request), request.body, request.ip);
  });
}
