import {
  CONTENT_TYPE_MAX_LENGTH,
  CONTENT_TYPE_PATTERN,
  CRC32_BASE64,
  contentTypeProblem,
  MAX_PART_SIZE,
  MAX_PARTS,
} from '@dreamlake/protocol';
import { z } from 'zod';
import { HASH_PATTERN, LEGACY_HASH_PATTERN, NAME_PATTERN } from '../storage/keys.ts';

/** Request shapes of the BSS endpoints. Unknown fields are ignored, as S3 ignores them. */
export const name = z.string().regex(NAME_PATTERN, 'must match ^[a-z0-9][a-z0-9._-]{0,62}$');
export const fullHash = z.string().regex(HASH_PATTERN, 'must be 64 lowercase hex digits');
export const uploadHash = z
  .string()
  .refine((v) => HASH_PATTERN.test(v) || LEGACY_HASH_PATTERN.test(v), 'must be 64 (or legacy 16) lowercase hex digits');
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this matches
const noControl = (v: string) => !/[\u0000-\u001f\u007f]/.test(v);
/** A media type that can be sent back as an HTTP header (the protocol's rule, as the server holds it). */
export const contentType = z
  .string()
  .max(CONTENT_TYPE_MAX_LENGTH)
  .regex(CONTENT_TYPE_PATTERN, contentTypeProblem('') ?? '');
const filename = z
  .string()
  .min(1)
  .refine((v) => Buffer.byteLength(v) <= 1024 && noControl(v), 'must be 1..1024 bytes without control characters');
export const uploadId = z.string().regex(/^[A-Za-z0-9._~+/=-]{1,1024}$/, 'is not an upload id');
export const key = z.string().min(1).max(1024);
const partNumber = z.number().int().min(1).max(MAX_PARTS);
const etag = z.string().min(1).max(256).refine(noControl, 'must not contain control characters');
const md5 = z.string().regex(/^[A-Za-z0-9+/]{22}==$/, 'must be the base64 MD5 (24 characters)');
const crc32 = z.string().regex(CRC32_BASE64, 'must be the base64 CRC-32 (8 characters)');

/** Owner, project and hash a body may repeat; they must then equal the signed ones. */
const scopeEcho = {
  owner: name.optional(),
  project: name.optional(),
  hash: uploadHash.optional(),
};

const unique = (numbers: readonly number[]) => new Set(numbers).size === numbers.length;

export const initBody = z.object({
  ...scopeEcho,
  contentType: contentType.default('application/octet-stream'),
  filename: filename.optional(),
  size: z.number().int().min(0).optional(),
});

export const partsBody = z
  .object({
    ...scopeEcho,
    uploadId,
    key,
    partNumbers: z.array(partNumber).min(1).max(MAX_PARTS).refine(unique, 'part numbers must be unique'),
    contentMd5: z.record(z.string().regex(/^[1-9][0-9]{0,4}$/), md5).optional(),
    checksumCrc32: z.record(z.string().regex(/^[1-9][0-9]{0,4}$/), crc32).optional(),
  })
  .refine((b) => Object.keys(b.contentMd5 ?? {}).every((n) => b.partNumbers.includes(Number(n))), {
    message: 'contentMd5 names a part that is not in partNumbers',
    path: ['contentMd5'],
  })
  .refine((b) => Object.keys(b.checksumCrc32 ?? {}).every((n) => b.partNumbers.includes(Number(n))), {
    message: 'checksumCrc32 names a part that is not in partNumbers',
    path: ['checksumCrc32'],
  });

export const partsDoneQuery = z.object({
  uploadId,
  key,
  owner: name.optional(),
  project: name.optional(),
  hash: uploadHash.optional(),
});

export const completeBody = z.object({
  ...scopeEcho,
  uploadId,
  key,
  parts: z
    .array(z.object({ partNumber, etag }))
    .min(1)
    .max(MAX_PARTS)
    .refine((parts) => unique(parts.map((p) => p.partNumber)), 'part numbers must be unique'),
});

export const abortBody = z.object({ ...scopeEcho, uploadId, key });

/** The signed params of an upload-part URL. */
export const partQuery = z.object({
  owner: name,
  project: name,
  hash: uploadHash,
  uploadId,
  partNumber: z.coerce.number().int().min(1).max(MAX_PARTS),
  maxLength: z.coerce.number().int().min(0).max(MAX_PART_SIZE),
  contentMd5: z.union([z.literal(''), md5]),
  checksumCrc32: crc32.optional(),
});

/** The signed params of an upload-single URL; `size` is decimal bytes. */
export const singleQuery = z.object({
  owner: name,
  project: name,
  hash: fullHash,
  size: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/, 'must be a decimal byte count')
    .transform(Number)
    .refine(Number.isSafeInteger, 'is too large'),
});

/** `POST /{type}/upload/single`: an empty body, or the blob's content type. */
export const singleBody = z.object({ contentType: contentType.default('application/octet-stream') });

/** The Content-Type header of a single-shot PUT: the blob's content type. */
export const singleContentType = contentType.default('application/octet-stream');

export const singleCompleteBody = z.object({ ...scopeEcho, key });

export const blobQuery = z.object({ owner: name, project: name, hash: fullHash });

/** The most a declared upload size may be: 10,000 parts of 5 GiB. */
export const MAX_UPLOAD_SIZE = MAX_PARTS * MAX_PART_SIZE;
