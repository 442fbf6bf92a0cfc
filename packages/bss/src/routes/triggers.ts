import { DreamLakeError } from '@dreamlake/presign';
import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { BssContext } from '../http/context.ts';
import { signedGuard } from '../http/guards.ts';
import { blobQuery } from '../http/schemas.ts';
import { TRIGGERS } from '../triggers/index.ts';
import * as answers from './answers.ts';
import { signed } from './route-docs.ts';

const nameOf = (request: FastifyRequest) => (request.params as { name: string }).name;

/** `POST /lambda/{name}`: runs the trigger `name`, signed with the action `lambda-<name>`. Unknown names are 404. */
export function registerTriggerRoutes(app: FastifyInstance, ctx: BssContext): void {
  const known = async (request: FastifyRequest) => {
    if (!Object.hasOwn(TRIGGERS, nameOf(request)))
      throw new DreamLakeError('not_found', `no trigger named "${nameOf(request)}"`);
  };
  const doc = signed({
    summary: 'Run a trigger on one stored blob (signed for lambda-<name>)',
    tags: ['blobs'],
    params: answers.triggerParams,
    query: answers.blobQuery,
    responses: { 200: 'the trigger’s JSON answer' },
    errors: ['hash_mismatch'],
  });
  app.post(
    '/lambda/:name',
    { onRequest: [known, signedGuard(ctx, (request) => `lambda-${nameOf(request)}`)], config: { doc } },
    async (request) => {
      const ref = parseOrThrow(blobQuery, request.presign?.params, 'signed parameters');
      const run = TRIGGERS[nameOf(request)];
      if (!run) throw new DreamLakeError('not_found');
      return run(ctx.storage, ref);
    },
  );
}
