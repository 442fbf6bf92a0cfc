import type { FastifyInstance } from 'fastify';
import { caller } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { BATCH_MAX_BODY_BYTES } from '../limits.ts';
import { batchDownloadGrant } from '../services/download-batch.ts';
import { bodyLimit } from './body-limit.ts';

/** Routes that hand out download grants for many files at once. */
export function downloadRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/downloads/batch', { onRequest: ctx.authenticate, ...bodyLimit(BATCH_MAX_BODY_BYTES) }, async (request) =>
    batchDownloadGrant(ctx, caller(request), request.body),
  );
}
