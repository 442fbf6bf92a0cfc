import type { FastifyInstance, FastifyRequest } from 'fastify';
import { caller, settleSession, unsettledSession } from '../auth/authenticate.ts';
import type { ServerContext } from '../context.ts';
import { BATCH_MAX_BODY_BYTES } from '../limits.ts';
import { batchGrant, batchGrantEntry } from '../services/upload-batch.ts';
import { type GrantAsker, initUpload, uploadInitBody } from '../services/upload-init.ts';
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
  // The session's epoch is read with the grant's target (one query instead of two).
  const initOptions = { onRequest: ctx.authenticate.deferringSession, config: { doc: initDoc } };
  app.post('/uploads/init', initOptions, async (request) => {
    return initUpload(ctx, askerOf(ctx, request), request.body, request.ip);
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

/** The caller of a route behind `authenticate.deferringSession`, settled by the service's own query. */
function askerOf(ctx: ServerContext, request: FastifyRequest): GrantAsker {
  return {
    userId: unsettledSession(request)?.userId ?? caller(request).id,
    settle(row) {
      settleSession(request, row);
      return caller(request);
    },
    check: () => ctx.authenticate.settle(request),
  };
}
