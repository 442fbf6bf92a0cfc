import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { DreamLakeError } from '@dreamlake/presign';
import { parseUploadKey, uploadKey } from '../keys.ts';
import { SINGLE_NONCE_PREFIX, type SingleUpload, type StagedSingle } from '../single-upload.ts';
import type { BlobInfo } from '../storage.ts';
import { headBlob } from './blobs.ts';
import type { PartUrlSigner } from './part-url-signer.ts';
import { type PublishContext, verifyAndPublishStaged } from './publish-staged.ts';
import { isObjectMissing, isPreconditionFailed } from './s3-errors.ts';
import { headObject } from './verify.ts';

/**
 * A presigned PutObject of a fresh staging key under the upload's scope
 * (`uploads/{owner}/{project}/{hash}/single-{nonce}`, so the sweep and the bucket's lifecycle
 * rules cover it), bound to exactly `size` bytes of `contentType`.
 */
export async function stageSingle(
  signer: PartUrlSigner,
  upload: SingleUpload,
  expiresInSeconds: number,
): Promise<StagedSingle> {
  const nonce = `${SINGLE_NONCE_PREFIX}${randomBytes(12).toString('hex')}`;
  const key = uploadKey({ owner: upload.owner, project: upload.project, hash: upload.hash, nonce });
  const url = await signer.signPutObject({
    key,
    contentLength: upload.size,
    contentType: upload.contentType,
    expiresInSeconds,
  });
  return { url, headers: { 'content-type': upload.contentType }, key };
}

/**
 * Verifies a staged single-shot object and publishes it (see publish-staged.ts for how only the
 * bytes hashed are published). Stateless like a multipart complete: a retry or a concurrent
 * complete finds the published blob once the staged object is gone.
 */
export async function completeSingle(
  ctx: PublishContext,
  upload: Omit<SingleUpload, 'contentType'>,
  key: string,
): Promise<BlobInfo> {
  const scope = parseUploadKey(key);
  if (
    !scope?.nonce.startsWith(SINGLE_NONCE_PREFIX) ||
    scope.owner !== upload.owner ||
    scope.project !== upload.project ||
    scope.hash !== upload.hash
  ) {
    throw new DreamLakeError('scope_mismatch', 'key is not a single-shot staging key of this upload');
  }
  const { client, bucket } = ctx;
  const ref = { owner: scope.owner, project: scope.project, hash: scope.hash };
  const staged = await headObject(client, bucket, key);
  if (!staged) {
    const published = await headBlob(client, bucket, ref);
    if (published) return published;
    throw new DreamLakeError(
      'not_found',
      'nothing is staged at this key: PUT the body to the URL first (or it expired and was swept)',
    );
  }
  if (staged.size !== upload.size) {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    if (staged.size > upload.size) {
      throw new DreamLakeError(
        'too_large',
        `the staged object is longer than the ${upload.size} bytes this URL was signed for; it was deleted`,
        { size: upload.size },
      );
    }
    throw new DreamLakeError(
      'invalid_part',
      `the staged object has ${staged.size} bytes; this URL was signed for ${upload.size}; it was deleted`,
      { size: upload.size },
    );
  }
  try {
    return await verifyAndPublishStaged(ctx, scope, staged);
  } catch (error) {
    const missing = isObjectMissing(error);
    if (!missing && !isPreconditionFailed(error)) throw error;
    // Another complete of this key published it and removed the staged object meanwhile, or the
    // object was replaced while it was read (a range read is pinned to the ETag of the head).
    const published = await headBlob(client, bucket, ref);
    if (published) return published;
    if (missing) throw new DreamLakeError('not_found', 'the staged object was removed while it was verified');
    throw new DreamLakeError('conflict', 'the staged object changed while it was verified; PUT it again and complete');
  }
}
