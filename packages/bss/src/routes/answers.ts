import { z } from 'zod';
import { ASSET_TYPES } from '../asset-types.ts';
import {
  blobQuery as blobParams,
  fullHash,
  name,
  partQuery,
  singleQuery as singleParams,
  uploadHash,
} from '../http/schemas.ts';

/**
 * Shapes for the OpenAPI document: the signed query of each kind of URL and the answers BSS
 * sends. Request bodies are the handlers' own schemas (`http/schemas.ts`).
 */

const exp = z
  .string()
  .regex(/^[0-9]{1,12}$/)
  .describe('Unix seconds the URL is valid until');
const sig = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .describe('HMAC-SHA256 of the action, the signed params and exp');
const signature = { exp, sig };

export const typeParams = z.object({ type: z.enum(ASSET_TYPES) });
export const triggerParams = z.object({ name: z.string().describe('a trigger, e.g. verify') });

/** The five upload URLs: the scope, the grant params it may carry, the signature (unsigned only in the legacy rollout). */
export const uploadQuery = z.object({
  owner: name,
  project: name,
  hash: uploadHash,
  size: z
    .string()
    .regex(/^[0-9]{1,16}$/)
    .optional()
    .describe('signed when present: the declared byte count'),
  user: z.string().optional().describe('signed when present: the user the server granted the upload to'),
  exp: exp.optional(),
  sig: sig.optional(),
});
export const partsDoneQuery = uploadQuery.extend({ uploadId: z.string(), key: z.string() });
export const singleQuery = singleParams.extend(signature);
export const singleBodyQuery = singleQuery.extend({
  contentType: z
    .string()
    .optional()
    .describe('the blob’s content type (not signed); application/octet-stream when absent'),
});
export const blobQuery = blobParams.extend(signature);
export const partUrlQuery = partQuery.extend(signature);

export const contentMd5Header = z.object({
  'content-md5': z.string().optional().describe('base64 MD5 of the part; checked when the URL signed one'),
  'x-amz-checksum-crc32': z
    .string()
    .optional()
    .describe('base64 CRC-32 of the part (big-endian); checked when sent or when the URL signed one'),
});

const receipt = z.looseObject({ owner: z.string(), project: z.string(), hash: fullHash, size: z.number().int() });
const iso = z.string().describe('ISO 8601 time');

export const initAnswer = z.object({
  uploadId: z.string(),
  key: z.string(),
  exists: z.literal(true).optional().describe('the verified blob is stored already'),
  receipt: receipt.optional(),
  partCheck: z
    .enum(['crc32', 'md5'])
    .optional()
    .describe('the per-part check to send in the parts request: checksumCrc32 (disk) or contentMd5 (S3)'),
});
export const partsAnswer = z.object({ parts: z.record(z.string(), z.url()), expiresAt: iso });
export const partsDoneAnswer = z.object({
  parts: z.array(z.object({ partNumber: z.number().int(), etag: z.string(), size: z.number().int() })),
  expired: z.boolean(),
});
export const blobAnswer = z.object({
  success: z.literal(true),
  key: z.string(),
  hash: z.string(),
  size: z.number().int(),
  contentType: z.string(),
  receipt: receipt.optional().describe('absent for legacy 16-hex hashes'),
});
export const singlesAnswer = z.object({
  files: z.array(
    z.union([
      blobAnswer.extend({ index: z.number().int() }),
      z.object({ index: z.number().int(), error: z.object({ code: z.string(), message: z.string() }) }),
    ]),
  ),
});
export const abortAnswer = z.object({ success: z.literal(true) });
export const deleted = z.object({ deleted: z.literal(true) });
export const singleAnswer = z.union([
  z.object({
    mode: z.literal('put'),
    url: z.url().describe('the single URL itself, on BSS’s public address'),
    maxSize: z
      .number()
      .int()
      .optional()
      .describe('the largest body this BSS takes by PUT: a client may PUT any body up to it without asking again'),
  }),
  z.object({
    mode: z.literal('s3'),
    url: z.url(),
    headers: z.record(z.string(), z.string()),
    key: z.string(),
    expiresAt: iso,
  }),
]);
export const blobInfo = z.object({
  owner: z.string(),
  project: z.string(),
  hash: fullHash,
  size: z.number().int(),
  contentType: z.string(),
});
export const health = z.object({ ok: z.literal(true), storage: z.enum(['fs', 's3']) });
