import { DreamLakeError } from '@dreamlake/presign';
import { MAX_PART_SIZE } from '@dreamlake/protocol';
import { parseOrThrow } from '@dreamlake/service';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { userTag } from '../storage/keys.ts';
import { partBound, type Storage, type UploadFacts, type UploadRef } from '../storage/storage.ts';

/**
 * What a grant binds an upload to beyond its scope (the optional signed params of the five upload
 * URLs, see `guards.ts`): the file's size and the grant's user. Recorded at init; every later
 * step is held to it.
 */
const grantParams = z.object({
  size: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/, 'must be a decimal byte count')
    .transform(Number)
    .refine(Number.isSafeInteger, 'is too large')
    .optional(),
  user: z.string().min(1).max(256).optional(),
});

export interface Grant {
  size?: number | undefined;
  user?: string | undefined;
}

/** The signed size and user of the request's URL (none for an older grant or an unsigned request). */
export function signedGrant(request: FastifyRequest): Grant {
  if (!request.presign) return {};
  return parseOrThrow(grantParams, request.presign.params, 'signed parameters');
}

/**
 * The facts of the upload a request acts on, after checking that the request's grant may act on
 * it: an upload bound to a user answers only that user's grants (403 scope_mismatch otherwise,
 * also for a grant naming no user). Null for an unknown upload, which the step answers as before.
 */
export async function boundUpload(
  storage: Storage,
  request: FastifyRequest,
  upload: UploadRef,
): Promise<UploadFacts | null> {
  const facts = await storage.uploadFacts(upload);
  if (facts?.user === undefined) return facts;
  const user = signedGrant(request).user;
  if (user === undefined || userTag(user) !== facts.user) {
    throw new DreamLakeError('scope_mismatch', 'this upload was started by another user’s grant');
  }
  return facts;
}

/** Declared part lengths (`{ "1": bytes }`) a parts request may carry beside `contentMd5`. */
const partLengths = z.object({
  contentLength: z.record(z.string().regex(/^[1-9][0-9]{0,4}$/), z.number().int().min(0).max(MAX_PART_SIZE)).optional(),
});

export function declaredPartLengths(body: unknown): Record<string, number> {
  return parseOrThrow(partLengths, body).contentLength ?? {};
}

/**
 * The most part `partNumber` holds in any plan of a `size`-byte file (the protocol's plan: parts
 * of one size, the last shorter): parts 1..n are whole before part n ends, or part n is the last
 * and no longer than the ones before it, so n × its length ≤ size either way. On top of what the
 * S3 rules leave (`partBound`): a grant of `size` bytes then parks at most about
 * size × ln(parts) in an open upload, not 5 GiB a part. Negative when the part would start past
 * the end.
 */
export function planBound(size: number, partNumber: number): number {
  const bound = partBound(size, partNumber);
  return bound < 0 ? bound : Math.min(bound, Math.floor(size / partNumber));
}

/**
 * What part `partNumber`'s URL may take: at most what a plan of the upload's size gives it (413
 * when the part would start past the end), exactly the declared length when there is one.
 */
export function partLimits(
  facts: UploadFacts | null,
  partNumber: number,
  declared: number | undefined,
): { maxLength?: number; contentLength?: number } {
  const size = facts?.size;
  const maxLength = size === undefined ? undefined : planBound(size, partNumber);
  if (maxLength !== undefined && maxLength < 0) {
    throw new DreamLakeError(
      'too_large',
      `part ${partNumber} would start past the ${size} bytes this upload was started for`,
      {
        size,
      },
    );
  }
  if (declared !== undefined && maxLength !== undefined && declared > maxLength) {
    throw new DreamLakeError(
      'too_large',
      `part ${partNumber} may be at most ${maxLength} bytes of the ${size} this upload was started for`,
      { size, maxLength },
    );
  }
  return {
    ...(maxLength !== undefined ? { maxLength } : {}),
    ...(declared !== undefined ? { contentLength: declared } : {}),
  };
}
