import {
  ASSET_TYPES,
  type AssetType,
  CONTENT_TYPE_MAX_LENGTH,
  CONTENT_TYPE_PATTERN,
  contentTypeProblem,
  FILE_NAME_MAX_BYTES,
  fileNameProblem,
  HASH_PATTERN,
  NAME_PATTERN,
} from '@dreamlake/protocol';
import { z } from 'zod';

// The rules themselves are the protocol's (shared with BSS and the clients); these are their validators.
export { ASSET_TYPES, type AssetType, CONTENT_TYPE_PATTERN, FILE_NAME_MAX_BYTES, fileNameProblem, NAME_PATTERN };

/** Users, namespaces and spaces. */
export const nameSchema = z.string().regex(NAME_PATTERN, `must match ${NAME_PATTERN.source}`);

export const assetTypeSchema = z.enum(ASSET_TYPES);

export const hashSchema = z.string().regex(HASH_PATTERN, 'must be the SHA-256 as 64 lowercase hex digits');

/** A media type that can be sent back as an HTTP header (the protocol's rule). */
export const contentTypeSchema = z
  .string()
  .max(CONTENT_TYPE_MAX_LENGTH)
  .regex(CONTENT_TYPE_PATTERN, contentTypeProblem('') ?? '');

export const fileNameSchema = z.string().superRefine((name, ctx) => {
  const problem = fileNameProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const roleSchema = z.enum(['owner', 'admin', 'writer', 'reader']);

/** Text that PostgreSQL can store: it refuses NUL in text columns. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this matches
export const NO_NUL = /^[^\u0000]*$/;
