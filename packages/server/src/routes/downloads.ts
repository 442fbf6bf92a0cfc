import type { FastifyInstance } from 'fastify';
import { caller } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { BATCH_MAX_BODY_BYTES } from '../limits.ts';
import { batchDownloadGrant } from '../services/download-batch.ts';
import { downloadBatchAnswer, downloadBatchBody } from './answers.ts';
import { bodyLimit } from './body-limit.ts';
import { signedIn } from './route-docs.ts';

/** Routes that hand out download grants for many files at once. */
export function downloadRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const batchDoc = signedIn({
    summary: 'Signed BSS download URLs for up to 1,000 files of one space, each answered on its own',
    tags: ['files'],
    body: downloadBatchBody,
    responses: { 200: downloadBatchAnswer },
    errors: ['not_found', 'too_large'],
  });
  const options = { onRequest: ctx.authenticate, ...bodyLimit(BATCH_MAX_BODY_BYTES), config: { doc: batchDoc } };
  app.post('/downloads/batch', options, async (request) => batchDownloadGrant(ctx, caller(request), request.body));
}
