import { DreamLakeError } from '@dreamlake/presign';
import { ACTIONS, blobPath } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BssContext } from '../http/context.ts';
import { signedGuard } from '../http/guards.ts';
import { parseRange } from '../http/range.ts';
import { blobQuery } from '../http/schemas.ts';
import { servesDirectDownloads } from '../storage/direct-download.ts';
import * as answers from './answers.ts';
import { bytes, signed } from './route-docs.ts';

/**
 * `DELETE /blobs/delete`: the server collects a blob no index entry points at. Only a blob
 * published longer ago than BLOB_GC_GRACE_SECONDS goes (200); a more recent one stays (409
 * `conflict`), a missing one is 404.
 */
function registerDeleteRoute(app: FastifyInstance, ctx: BssContext): void {
  const doc = signed({
    summary: 'Collect a blob no index entry points at (kept, 409, while within the grace period)',
    tags: ['blobs'],
    query: answers.blobQuery,
    responses: { 200: answers.deleted },
    errors: ['conflict'],
  });
  const options = { onRequest: signedGuard(ctx, ACTIONS.delete), config: { doc } };
  app.delete(`/${blobPath('delete')}`, options, async (request) => {
    const ref = parseOrThrow(blobQuery, request.presign?.params, 'signed parameters');
    const publishedBefore = new Date((ctx.clock() - ctx.config.blobGcGraceSeconds) * 1000);
    const outcome = await ctx.storage.deleteBlob(ref, publishedBefore);
    if (outcome === 'absent') throw new DreamLakeError('not_found', 'no such blob');
    if (outcome === 'recent') {
      throw new DreamLakeError('conflict', 'the blob was published within the grace period and is kept', {
        graceSeconds: ctx.config.blobGcGraceSeconds,
      });
    }
    return { deleted: true };
  });
}

/**
 * `GET /blobs/stat` and `GET /blobs/download`: verified blobs only, behind URLs the server signs.
 * A backend with direct downloads (S3) answers the download with a 302 to a presigned GET.
 */
export function registerBlobRoutes(app: FastifyInstance, ctx: BssContext): void {
  const { storage } = ctx;
  registerDeleteRoute(app, ctx);

  const statDoc = signed({
    summary: 'A verified blob’s size and type',
    tags: ['blobs'],
    query: answers.blobQuery,
    responses: { 200: answers.blobInfo },
  });
  app.get('/blobs/stat', { onRequest: signedGuard(ctx, 'stat'), config: { doc: statDoc } }, async (request) => {
    const ref = parseOrThrow(blobQuery, request.presign?.params, 'signed parameters');
    const blob = await storage.stat(ref);
    if (!blob) throw new DreamLakeError('not_found', 'no such blob');
    return blob;
  });

  const download = async (request: FastifyRequest, reply: FastifyReply) => {
    const ref = parseOrThrow(blobQuery, request.presign?.params, 'signed parameters');
    const blob = await storage.stat(ref);
    if (!blob) throw new DreamLakeError('not_found', 'no such blob');
    if (servesDirectDownloads(storage)) {
      // The direct URL lives no longer than the signed one it answers.
      const left = (request.presign?.exp ?? 0) - ctx.clock();
      const seconds = Math.max(1, Math.min(ctx.config.presignTtlSeconds, left));
      return reply
        .code(302)
        .header('cache-control', 'no-store')
        .redirect(await storage.downloadUrl(ref, seconds), 302);
    }
    void reply
      .header('accept-ranges', 'bytes')
      .header('etag', `"${blob.hash}"`)
      .header('content-type', blob.contentType)
      .header('x-content-type-options', 'nosniff')
      // The uploader chose the content type: never let a blob render as a page on BSS's origin.
      .header('content-disposition', 'attachment')
      .header('content-security-policy', "sandbox; default-src 'none'")
      .header('cache-control', 'private, max-age=0');
    const rangeHeader = request.headers.range;
    const range = parseRange(typeof rangeHeader === 'string' ? rangeHeader : undefined, blob.size);
    if (range === 'unsatisfiable') {
      void reply.header('content-range', `bytes */${blob.size}`);
      throw new DreamLakeError('range_not_satisfiable', `the blob has ${blob.size} bytes`);
    }
    if (range) {
      void reply
        .code(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${blob.size}`)
        .header('content-length', String(range.end - range.start + 1));
    } else {
      void reply.code(200).header('content-length', String(blob.size));
    }
    // HEAD and empty blobs: the headers are the whole answer (no file is opened).
    if (request.method === 'HEAD') return reply.send();
    if (blob.size === 0) return reply.send('');
    return reply.send(await storage.read(ref, range ?? undefined));
  };
  // HEAD is declared, not derived: Fastify's derived HEAD would read the whole stream to drop it.
  const downloadDoc = signed({
    summary: 'A verified blob’s bytes (Range supported; HEAD too), or a 302 to the bucket (S3 backend)',
    tags: ['blobs'],
    query: answers.blobQuery,
    responses: {
      200: bytes('the blob'),
      206: bytes('the requested range'),
      302: 'Location: a presigned GET of the object, valid no longer than this URL',
    },
    errors: ['range_not_satisfiable'],
  });
  app.route({
    method: ['GET', 'HEAD'],
    url: '/blobs/download',
    onRequest: signedGuard(ctx, 'download'),
    config: { doc: downloadDoc },
    handler: download,
  });
}
