import { DreamLakeError } from '@dreamlake/presign';
import { parseOrThrow, type RouteDoc } from '@dreamlake/service';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAssetType } from '../asset-types.ts';
import type { BssContext } from '../http/context.ts';
import { SINGLE_PARAMS, signedGuard } from '../http/guards.ts';
import { bodyStream, declaredLength, headerValue, streamRawBodies } from '../http/raw-body.ts';
import { blobAnswer } from '../http/receipt.ts';
import { singleContentType } from '../http/schemas.ts';
import { signedSingle } from '../http/scope.ts';
import { receivesSingleOf } from '../storage/single-upload.ts';
import * as answers from './answers.ts';
import { bytes, signed } from './route-docs.ts';

const putDoc = signed({
  summary:
    'A single-shot body of exactly the signed size, verified and published (disk backend; S3 up to the size its POST answer names)',
  tags: ['uploads'],
  params: answers.typeParams,
  query: answers.singleQuery,
  body: bytes('the whole blob; its Content-Type is the blob’s'),
  responses: { 200: answers.blobAnswer },
  errors: [
    'invalid_part',
    'too_large',
    'hash_mismatch',
    'conflict',
    'unsupported_media_type',
    'storage_unavailable',
    'unavailable',
  ],
});

const postDoc = signed({
  summary:
    'The PUT above as a browser’s simple request (no CORS preflight): the body as it is, whatever its own Content-Type, the blob’s type in the query',
  tags: ['uploads'],
  params: answers.typeParams,
  query: answers.singleBodyQuery,
  body: bytes('the whole blob; sent as text/plain by browsers, stored with the contentType of the query', 'text/plain'),
  responses: { 200: answers.blobAnswer },
  errors: ['invalid_part', 'too_large', 'hash_mismatch', 'conflict', 'storage_unavailable', 'unavailable'],
});

/**
 * `PUT /{type}/upload/single`: a single-shot body, received by BSS itself (the disk backend, or
 * S3 up to its `singleReceiveLimit`). Whatever can be refused before the body is read is (a
 * declared length other than the signed size, a bad Content-Type, a size this backend stages in
 * S3, no room in memory for it), and then the connection is closed rather than the body drained.
 *
 * `POST /{type}/upload/single/body?…&contentType=`: the same, as a browser's simple request (a
 * POST whose own Content-Type is `text/plain` or absent, the blob's in the query), which a page
 * on another origin sends without a CORS preflight first: one request per small file, not two.
 * The signature is the URL's; the content type is no more signed than the PUT's header is.
 */
export async function registerSinglePutRoute(app: FastifyInstance, ctx: BssContext): Promise<void> {
  const { storage } = ctx;
  await app.register(async (scoped) => {
    streamRawBodies(scoped);
    // Checked before the framework's body handling, which would refuse some bad types on its own terms.
    const headerType = (request: FastifyRequest) =>
      parseOrThrow(singleContentType, headerValue(request, 'content-type'), 'Content-Type header');
    const queryType = (request: FastifyRequest) =>
      parseOrThrow(singleContentType, (request.query as { contentType?: unknown }).contentType, 'contentType');
    const receive = async (request: FastifyRequest, contentType: string) => {
      const signed = signedSingle(request);
      if (!receivesSingleOf(storage, signed.size)) {
        throw new DreamLakeError(
          'conflict',
          'this BSS stores a body of this size in S3 itself: POST this URL to learn where to send it',
        );
      }
      const length = declaredLength(request);
      if (length !== undefined && length > signed.size) {
        throw new DreamLakeError(
          'too_large',
          `Content-Length ${length} is more than the ${signed.size} bytes this URL was signed for`,
          { size: signed.size },
        );
      }
      if (length !== undefined && length < signed.size) {
        throw new DreamLakeError(
          'invalid_part',
          `Content-Length ${length} is less than the ${signed.size} bytes this URL was signed for`,
          { size: signed.size },
        );
      }
      const blob = await storage.receiveSingle({ ...signed, contentType }, bodyStream(request));
      return blobAnswer(ctx, blob);
    };
    const guards = [requireAssetType, signedGuard(ctx, 'upload-single', SINGLE_PARAMS)];
    const checked = (typeOf: (request: FastifyRequest) => string, doc: RouteDoc) => ({
      onRequest: [...guards, async (request: FastifyRequest) => void typeOf(request)],
      config: { doc },
    });
    scoped.put('/:type/upload/single', checked(headerType, putDoc), (request) => receive(request, headerType(request)));
    scoped.post('/:type/upload/single/body', checked(queryType, postDoc), (request) =>
      receive(request, queryType(request)),
    );
  });
}
