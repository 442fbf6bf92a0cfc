import { DreamLakeError } from '@dreamlake/presign';
import { ACTIONS, CRC32_HEADER } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { BssContext } from '../http/context.ts';
import { PART_OPTIONAL_PARAMS, PART_PARAMS, signedGuard } from '../http/guards.ts';
import { bodyStream, declaredLength, headerValue, streamRawBodies } from '../http/raw-body.ts';
import { partQuery } from '../http/schemas.ts';
import type { PartReceiver } from '../storage/part-receiver.ts';
import { contentMd5Header, partUrlQuery } from './answers.ts';
import { bytes, signed } from './route-docs.ts';

/**
 * The check a part must pass: the one its URL was signed with, else the one the request declares
 * in `header` (its form is checked where the body is). A declared one that differs from the signed
 * one is refused before the body is read.
 */
function boundCheck(request: FastifyRequest, header: string, signedValue: string | undefined): string | undefined {
  const declared = headerValue(request, header.toLowerCase());
  if (signedValue !== undefined && declared !== undefined && declared !== signedValue) {
    throw new DreamLakeError('invalid_part', `${header} differs from the one this URL was signed for`, {
      reason: 'BadDigest',
    });
  }
  return signedValue ?? declared;
}

/**
 * `PUT /upload/part`: the part URLs the disk backend mints. The body is handed on as a stream
 * (never buffered); a request refused before its body was read closes the connection after
 * the error answer, so a large body is not drained.
 */
export async function registerPartRoute(app: FastifyInstance, ctx: BssContext, receiver: PartReceiver): Promise<void> {
  const doc = signed({
    summary: 'One part body, at the URL /parts answered (disk backend)',
    tags: ['uploads'],
    query: partUrlQuery,
    headers: contentMd5Header,
    body: bytes('the part, at most maxLength bytes'),
    responses: { 200: 'stored; the ETag header names the part' },
    errors: ['invalid_part', 'too_large', 'conflict', 'storage_unavailable'],
  });
  await app.register(async (scoped) => {
    streamRawBodies(scoped);
    scoped.put(
      '/upload/part',
      { onRequest: signedGuard(ctx, ACTIONS.uploadPart, PART_PARAMS, PART_OPTIONAL_PARAMS), config: { doc } },
      async (request, reply) => {
        const signed = parseOrThrow(partQuery, request.presign?.params, 'signed parameters');
        const contentMd5 = boundCheck(request, 'Content-MD5', signed.contentMd5 || undefined);
        const checksumCrc32 = boundCheck(request, CRC32_HEADER, signed.checksumCrc32);
        const part = await receiver.receivePart(
          {
            owner: signed.owner,
            project: signed.project,
            hash: signed.hash,
            uploadId: signed.uploadId,
            partNumber: signed.partNumber,
            maxLength: signed.maxLength,
            contentMd5,
            checksumCrc32,
            contentLength: declaredLength(request),
          },
          bodyStream(request),
        );
        return reply.code(200).header('etag', part.etag).send();
      },
    );
  });
}
