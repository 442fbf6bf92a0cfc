import { z } from 'zod';

/** Users, namespaces and spaces. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const nameSchema = z.string().regex(NAME_PATTERN, `must match ${NAME_PATTERN.source}`);

export const ASSET_TYPES = ['videos', 'audio', 'image', 'text-tracks', 'labels', 'tracks', 'files'] as const;
export type AssetType = (typeof ASSET_TYPES)[number];
export const assetTypeSchema = z.enum(ASSET_TYPES);

export const hashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be the SHA-256 as 64 lowercase hex digits');

/**
 * A media type that can be sent back as an HTTP header: `type/subtype` (RFC 6838 names), then
 * `; name=value` parameters (the value a token or a quoted string). Visible ASCII and spaces only:
 * no control character, nothing outside ASCII, no trailing `;`. BSS holds content types to the
 * same rule (`packages/bss/src/http/schemas.ts`).
 */
export const CONTENT_TYPE_PATTERN =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(?: *; *[A-Za-z0-9!#$%&'*+.^_`|~-]+=(?:[A-Za-z0-9!#$%&'*+.^_`|~-]+|"(?:[ !#-[\]-~]|\\[ -~])*"))*$/;
export const contentTypeSchema = z
  .string()
  .max(255)
  .regex(CONTENT_TYPE_PATTERN, 'must be a media type like video/mp4 or text/plain; charset=utf-8');

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this matches
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * File names are relative paths: UTF-8, 1..1024 bytes, `/`-separated, no empty, `.` or `..`
 * segment, no leading `/`, no control characters.
 */
export function fileNameProblem(name: string): string | null {
  if (LONE_SURROGATE.test(name)) return 'must be valid UTF-8';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes < 1 || bytes > 1024) return 'must be 1 to 1024 bytes';
  if (CONTROL.test(name)) return 'must not contain control characters';
  if (name.startsWith('/')) return 'must be a relative path';
  if (name.split('/').some((s) => s === '' || s === '.' || s === '..'))
    return 'must not have an empty, "." or ".." segment';
  return null;
}

export const fileNameSchema = z.string().superRefine((name, ctx) => {
  const problem = fileNameProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const roleSchema = z.enum(['owner', 'admin', 'writer', 'reader']);

/** Text that PostgreSQL can store: it refuses NUL in text columns. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this matches
export const NO_NUL = /^[^\u0000]*$/;
