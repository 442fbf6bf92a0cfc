import { DreamLakeError } from '@dreamlake/presign';
import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { requireAssetType } from '../asset-types.ts';
import type { BssContext } from '../http/context.ts';
import { SINGLE_PARAMS, secondsLeft, signedGuard } from '../http/guards.ts';
import { blobAnswer } from '../http/receipt.ts';
import { singleBody, singleCompleteBody } from '../http/schemas.ts';
import { signedSingle, uploadScope } from '../http/scope.ts';
import { receivesSingleOf, stagesSingles } from '../storage/single-upload.ts';
import * as answers from './answers.ts';
import { signed } from './route-docs.ts';

/**
 * `POST /{type}/upload/single` (where to send a single-shot body: to BSS itself, or on S3 past
 * what BSS takes itself to a staging key) and `POST /{type}/upload/single/complete` (S3: verify
 * and publish the staged body), behind the `upload-single` signature. The body PUT to BSS is in
 * `single-put.ts`.
 */
export function registerSingleRoutes(app: FastifyInstance, ctx: BssContext): void {
  const { storage } = ctx;
  const onRequest = [requireAssetType, signedGuard(ctx, 'upload-single', SINGLE_PARAMS)];

  const whereDoc = signed({
    summary: 'Where to send a single-shot body: back to BSS (put) or to the bucket (s3)',
    tags: ['uploads'],
    params: answers.typeParams,
    query: answers.singleQuery,
    body: singleBody,
    responses: { 200: answers.singleAnswer },
    errors: ['too_large', 'not_implemented'],
  });
  app.post('/:type/upload/single', { onRequest, config: { doc: whereDoc } }, async (request) => {
    const signed = signedSingle(request);
    const body = parseOrThrow(singleBody, request.body ?? {});
    if (receivesSingleOf(storage, signed.size)) {
      // `maxSize`: a client may PUT any body up to it straight away, without asking again.
      return { mode: 'put', url: storage.publicUrlOf(request.url), maxSize: storage.singleReceiveLimit };
    }
    if (!stagesSingles(storage))
      throw new DreamLakeError('not_implemented', 'this storage takes no single-shot uploads');
    // The store's URL lives no longer than the signed one it answers.
    const seconds = secondsLeft(ctx, request);
    const staged = await storage.stageSingle({ ...signed, contentType: body.contentType }, seconds);
    const expiresAt = new Date((ctx.clock() + seconds) * 1000).toISOString();
    return { mode: 's3', url: staged.url, headers: staged.headers, key: staged.key, expiresAt };
  });

  const completeDoc = signed({
    summary: 'Verify and publish a body staged in the bucket (S3 backend)',
    tags: ['uploads'],
    params: answers.typeParams,
    query: answers.singleQuery,
    body: singleCompleteBody,
    responses: { 200: answers.blobAnswer },
    errors: ['invalid_part', 'hash_mismatch', 'conflict', 'storage_unavailable'],
  });
  app.post('/:type/upload/single/complete', { onRequest, config: { doc: completeDoc } }, async (request) => {
    const signed = signedSingle(request);
    const body = parseOrThrow(singleCompleteBody, request.body);
    uploadScope(request, body);
    if (!stagesSingles(storage)) {
      throw new DreamLakeError(
        'conflict',
        'this BSS takes the body by PUT to the single-shot URL; there is nothing to complete',
      );
    }
    // Verifying a large staged object takes a while with nothing on the wire.
    request.raw.socket?.setTimeout?.(0);
    return blobAnswer(ctx, await storage.completeSingle(signed, body.key));
  });
}
