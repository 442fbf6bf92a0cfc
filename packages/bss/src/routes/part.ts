import { DreamLakeError } from '@dreamlake/presign';
import { parseOrThrow } from '@dreamlake/presign/http';
import { ACTIONS, CRC32_BASE64, CRC32_HEADER } from '@dreamlake/protocol';
import type { FastifyInstance } from 'fastify';
import type { BssContext } from '../http/context.ts';
import { PART_OPTIONAL_PARAMS, PART_PARAMS, signedGuard } from '../http/guards.ts';
import { bodyStream, declaredLength, headerValue, streamRawBodies } from '../http/raw-body.ts';
import { partQuery } from '../http/schemas.ts';
import type { PartReceiver } from '../storage/part-receiver.ts';

/**
 * `PUT /upload/part`: the part URLs the disk backend mints. The body is handed on as a stream
 * (never buffered); a request refused before its body was read closes the connection after
 * the error answer, so a large body is not drained.
 */
export async function registerPartRoute(app: FastifyInstance, ctx: BssContext, receiver: PartReceiver): Promise<void> {
  await app.register(async (scoped) => {
    streamRawBodies(scoped);
    scoped.put(
      '/upload/part',
      { onRequest: signedGuard(ctx, ACTIONS.uploadPart, PART_PARAMS, PART_OPTIONAL_PARAMS) },
      async (request, reply) => {
        const signed = parseOrThrow(partQuery, request.presign?.params, 'signed parameters');
        const declared = headerValue(request, 'content-md5');
        if (signed.contentMd5 !== '' && declared !== undefined && declared !== signed.contentMd5) {
          throw new DreamLakeError('invalid_part', 'Content-MD5 differs from the one this URL was signed for', {
            reason: 'BadDigest',
          });
        }
        const declaredCrc = headerValue(request, CRC32_HEADER);
        if (declaredCrc !== undefined && !CRC32_BASE64.test(declaredCrc)) {
          throw new DreamLakeError('invalid_part', `${CRC32_HEADER} must be the base64 of 4 bytes`, {
            reason: 'InvalidDigest',
          });
        }
        if (signed.checksumCrc32 !== undefined && declaredCrc !== undefined && declaredCrc !== signed.checksumCrc32) {
          throw new DreamLakeError('invalid_part', `${CRC32_HEADER} differs from the one this URL was signed for`, {
            reason: 'BadDigest',
          });
        }
        const part = await receiver.receivePart(
          {
            owner: signed.owner,
            project: signed.project,
            hash: signed.hash,
            uploadId: signed.uploadId,
            partNumber: signed.partNumber,
            maxLength: signed.maxLength,
            contentMd5: signed.contentMd5 || declared,
            checksumCrc32: signed.checksumCrc32 ?? declaredCrc,
            contentLength: declaredLength(request),
          },
          bodyStream(request),
        );
        return reply.code(200).header('etag', part.etag).send();
      },
    );
  });
}
