import { DreamLakeError } from '@dreamlake/presign';
import { ACTIONS } from '@dreamlake/protocol';
import { parseOrThrow, type RouteDoc } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAssetType } from '../asset-types.ts';
import type { BssContext } from '../http/context.ts';
import { boundUpload, declaredPartLengths, partLimits, signedGrant } from '../http/grant.ts';
import { secondsLeft, uploadGuard } from '../http/guards.ts';
import { blobAnswer, receiptFor } from '../http/receipt.ts';
import {
  abortBody,
  completeBody,
  initBody,
  MAX_UPLOAD_SIZE,
  name,
  partsBody,
  partsDoneQuery,
  uploadHash,
} from '../http/schemas.ts';
import { multipartUploadScope, refuseOtherScope, signedScope } from '../http/scope.ts';
import { HASH_PATTERN, userTag } from '../storage/keys.ts';
import { receivesParts } from '../storage/part-receiver.ts';
import type { BlobInfo } from '../storage/storage.ts';
import * as answers from './answers.ts';
import { upload } from './route-docs.ts';

const legacyInitScope = z.object({ owner: name, project: name, hash: uploadHash });

/** The five multipart endpoints (docs/protocol.md, "BSS"), for every asset type. */
export function registerMultipartRoutes(app: FastifyInstance, ctx: BssContext): void {
  const { storage } = ctx;
  const route = (action: string, doc: RouteDoc) => ({
    onRequest: [requireAssetType, uploadGuard(ctx, action)],
    config: { doc },
  });
  const completing = new Map<string, Promise<BlobInfo>>();

  const initDoc = upload('Open a multipart upload (says exists, with a receipt, when stored)', {
    body: initBody,
    responses: { 200: answers.initAnswer },
    errors: ['too_large', 'storage_unavailable'],
  });
  app.post('/:type/upload/multipart/init', route(ACTIONS.uploadInit, initDoc), async (request) => {
    const body = parseOrThrow(initBody, request.body ?? {});
    const signed = signedScope(request);
    if (signed) refuseOtherScope(signed, body);
    const scope = signed ?? parseOrThrow(legacyInitScope, body);
    const grant = signedGrant(request);
    if (grant.size !== undefined && body.size !== undefined && body.size !== grant.size) {
      throw new DreamLakeError(
        'scope_mismatch',
        `size ${body.size} differs from the ${grant.size} bytes this URL was signed for`,
      );
    }
    if (request.presign && grant.size === undefined && !receivesParts(storage)) {
      // Part PUTs go straight to the store, which holds a part only to the one length its URL
      // signs: without the file's size no length could be checked, and any grant could park 5 GiB
      // a part until the sweep.
      throw new DreamLakeError(
        'invalid_request',
        'this upload URL states no size; this BSS needs grants that state the file size (ask the server again with size)',
      );
    }
    const size = grant.size ?? body.size;
    if (size !== undefined && size > MAX_UPLOAD_SIZE) {
      throw new DreamLakeError(
        'too_large',
        `an upload may be at most ${MAX_UPLOAD_SIZE} bytes (10,000 parts of 5 GiB)`,
      );
    }
    // A verified blob already stored is said so, with a receipt; the upload is opened all the
    // same, for clients that do not know `exists`.
    const [upload, stored] = await Promise.all([
      storage.createUpload({
        ...scope,
        contentType: body.contentType,
        ...(body.filename !== undefined ? { filename: body.filename } : {}),
        ...(size !== undefined ? { size } : {}),
        ...(grant.user !== undefined ? { user: userTag(grant.user) } : {}),
      }),
      HASH_PATTERN.test(scope.hash) ? storage.stat(scope) : null,
    ]);
    const opened = { uploadId: upload.uploadId, key: upload.key, partCheck: storage.partCheck };
    if (stored) return { ...opened, exists: true, receipt: receiptFor(ctx, stored) };
    return opened;
  });

  const partsDoc = upload('Signed URLs for the named parts', {
    body: partsBody,
    responses: { 200: answers.partsAnswer },
    errors: ['too_large'],
  });
  app.post('/:type/upload/multipart/parts', route(ACTIONS.uploadParts, partsDoc), async (request) => {
    const body = parseOrThrow(partsBody, request.body);
    multipartUploadScope(request, body);
    const lengths = declaredPartLengths(request.body);
    const upload = { key: body.key, uploadId: body.uploadId };
    const facts = await boundUpload(storage, request, upload);
    // A part URL never outlives the grant that asked for it, nor reaches past the upload's size.
    const ttl = secondsLeft(ctx, request);
    const expiresAt = new Date((ctx.clock() + ttl) * 1000).toISOString();
    const limits = body.partNumbers.map((n) => partLimits(facts, n, lengths[String(n)]));
    const parts: Record<string, string> = {};
    for (const [i, partNumber] of body.partNumbers.entries()) {
      const contentMd5 = body.contentMd5?.[String(partNumber)];
      const checksumCrc32 = body.checksumCrc32?.[String(partNumber)];
      parts[String(partNumber)] = await storage.partUrl(upload, partNumber, {
        expiresInSeconds: ttl,
        ...(contentMd5 ? { contentMd5 } : {}),
        ...(checksumCrc32 ? { checksumCrc32 } : {}),
        ...limits[i],
      });
    }
    return { parts, expiresAt };
  });

  const partsDoneDoc = upload('The parts received so far (resume)', {
    query: answers.partsDoneQuery,
    responses: { 200: answers.partsDoneAnswer },
  });
  app.get('/:type/upload/multipart/parts-done', route(ACTIONS.uploadPartsDone, partsDoneDoc), async (request) => {
    const query = parseOrThrow(partsDoneQuery, request.query, 'query');
    multipartUploadScope(request, query);
    await boundUpload(storage, request, { key: query.key, uploadId: query.uploadId });
    const parts = await storage.listParts({ key: query.key, uploadId: query.uploadId });
    if (!parts) return { parts: [], expired: true };
    return { parts: parts.map(({ partNumber, etag, size }) => ({ partNumber, etag, size })), expired: false };
  });

  const completeDoc = upload('Assemble and verify the parts, then publish the blob', {
    body: completeBody,
    responses: { 200: answers.blobAnswer },
    errors: ['invalid_part', 'entity_too_small', 'hash_mismatch', 'too_large', 'conflict', 'storage_unavailable'],
  });
  app.post('/:type/upload/multipart/complete', route(ACTIONS.uploadComplete, completeDoc), async (request) => {
    const body = parseOrThrow(completeBody, request.body);
    const scope = multipartUploadScope(request, body);
    await boundUpload(storage, request, { key: body.key, uploadId: body.uploadId });
    const parts = [...body.parts].sort((a, b) => a.partNumber - b.partNumber);
    // Verifying a very large object takes minutes with nothing on the wire: the idle-connection
    // limit, meant for stalled part bodies, must not cut this answer off.
    request.raw.socket?.setTimeout?.(0);
    // Concurrent completes of one upload in this process wait for the first one's answer rather
    // than each hashing the whole object.
    const id = `${body.key}\n${body.uploadId}`;
    let running = completing.get(id);
    if (!running) {
      running = storage
        .complete({ key: body.key, uploadId: body.uploadId }, parts)
        .finally(() => completing.delete(id));
      completing.set(id, running);
    }
    return blobAnswer(ctx, await running, HASH_PATTERN.test(scope.hash));
  });

  const abortDoc = upload('Drop an open upload and its parts', {
    body: abortBody,
    responses: { 200: answers.abortAnswer },
  });
  app.post('/:type/upload/multipart/abort', route(ACTIONS.uploadAbort, abortDoc), async (request) => {
    const body = parseOrThrow(abortBody, request.body);
    multipartUploadScope(request, body);
    await boundUpload(storage, request, { key: body.key, uploadId: body.uploadId });
    await storage.abort({ key: body.key, uploadId: body.uploadId });
    return { success: true };
  });
}
