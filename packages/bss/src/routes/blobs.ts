import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '@dreamlake/presign';
import { parseOrThrow } from '@dreamlake/presign/http';
import type { BssContext } from '../http/context.ts';
import { signedGuard } from '../http/guards.ts';
import { parseRange } from '../http/range.ts';
import { blobQuery } from '../http/schemas.ts';

/** `GET /blobs/stat` and `GET /blobs/download`: verified blobs only, behind URLs the server signs. */
export function registerBlobRoutes(app: FastifyInstance, ctx: BssContext): void {
  const { storage } = ctx;

  app.get('/blobs/stat', { onRequest: signedGuard(ctx, 'stat') }, async (request) => {
    const ref = parseOrThrow(blobQuery, request.presign?.params, 'signed parameters');
    const blob = await storage.stat(ref);
    if (!blob) throw new NotFoundError('no such blob');
    return blob;
  });

  app.get('/blobs/download', { onRequest: signedGuard(ctx, 'download') }, async (request, reply) => {
    const ref = parseOrThrow(blobQuery, request.presign?.params, 'signed parameters');
    const blob = await storage.stat(ref);
    if (!blob) throw new NotFoundError('no such blob');
    void reply
      .header('accept-ranges', 'bytes')
      .header('etag', `"${blob.hash}"`)
      .header('content-type', blob.contentType)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'private, max-age=0');
    const rangeHeader = request.headers.range;
    const range = parseRange(typeof rangeHeader === 'string' ? rangeHeader : undefined, blob.size);
    if (range === 'unsatisfiable') {
      // 416 has no code in the shared error family; answered here in the same JSON shape.
      return reply
        .code(416)
        .header('content-range', `bytes */${blob.size}`)
        .type('application/json')
        .send({ error: { code: 'range_not_satisfiable', message: `the blob has ${blob.size} bytes` } });
    }
    if (range) {
      const stream = await storage.read(ref, range);
      return reply
        .code(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${blob.size}`)
        .header('content-length', String(range.end - range.start + 1))
        .send(stream);
    }
    if (blob.size === 0) return reply.code(200).header('content-length', '0').send('');
    const stream = await storage.read(ref);
    return reply.code(200).header('content-length', String(blob.size)).send(stream);
  });
}
