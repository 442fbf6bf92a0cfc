/**
 * The shapes of the values every party checks: names, hashes, content types, file names and the
 * multipart limits. Each service wraps them in its own validator; none restates them.
 *
 * Words: a *namespace* (a user or an organisation) holds *spaces*; on the wire to BSS, and in the
 * signed URL parameters fixed by the protocol, the same two are called `owner` and `project`.
 */

/** Users, namespaces (`owner`) and spaces (`project`). */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** A blob's SHA-256: 64 lowercase hex digits. */
export const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** Uploads opened by clients older than the SHA-256 rule named their blob by 16 hex digits (BSS only). */
export const LEGACY_HASH_PATTERN = /^[0-9a-f]{16}$/;

/**
 * A media type that can be sent back as an HTTP header: `type/subtype` (RFC 6838 names), then
 * `; name=value` parameters (the value a token or a quoted string). Visible ASCII and spaces only:
 * no control character, nothing outside ASCII, no trailing `;`; at most CONTENT_TYPE_MAX_LENGTH.
 */
export const CONTENT_TYPE_PATTERN =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(?: *; *[A-Za-z0-9!#$%&'*+.^_`|~-]+=(?:[A-Za-z0-9!#$%&'*+.^_`|~-]+|"(?:[ !#-[\]-~]|\\[ -~])*"))*$/;
export const CONTENT_TYPE_MAX_LENGTH = 255;
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

export function isContentType(value: string): boolean {
  return value.length <= CONTENT_TYPE_MAX_LENGTH && CONTENT_TYPE_PATTERN.test(value);
}

/** Why a content type is refused, or null. */
export function contentTypeProblem(value: string): string | null {
  return isContentType(value) ? null : 'must be a media type like video/mp4 or text/plain; charset=utf-8';
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this matches
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/**
 * Bidirectional controls (embeddings, overrides, isolates and marks): they make a name show in
 * another order than it is stored, `invoice\u202Efdp.exe` showing as `invoiceexe.pdf`.
 */
const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
/**
 * Characters that show nothing, so two names that look the same differ: every format character
 * (Unicode category Cf: zero-width spaces and joiners, the word joiner, the byte order mark, soft
 * hyphen, invisible operators, tags), the Hangul fillers that render blank, and the line and
 * paragraph separators.
 */
const INVISIBLE = /[\p{Cf}\p{Zl}\p{Zp}\u115F\u1160\u3164\uFFA0]/u;
export const FILE_NAME_MAX_BYTES = 1024;

const utf8 = new TextEncoder();

/** `U+202E`: how a refusal names a character that cannot be shown. */
function codePoint(match: RegExpExecArray): string {
  return `U+${(match[0].codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * File names are relative paths: UTF-8, 1..1024 bytes, `/`-separated, no empty, `.` or `..`
 * segment, no leading `/`, no control characters, no bidirectional controls, nothing invisible
 * (format characters, blank fillers, line separators). Why a name is refused, or null.
 */
export function fileNameProblem(name: string): string | null {
  if (LONE_SURROGATE.test(name)) return 'must be valid UTF-8';
  const bytes = utf8.encode(name).length;
  if (bytes < 1 || bytes > FILE_NAME_MAX_BYTES) return `must be 1 to ${FILE_NAME_MAX_BYTES} bytes`;
  if (CONTROL.test(name)) return 'must not contain control characters';
  const bidi = BIDI_CONTROL.exec(name);
  if (bidi) return `must not contain bidirectional control characters (${codePoint(bidi)})`;
  const invisible = INVISIBLE.exec(name);
  if (invisible) return `must not contain invisible or line-breaking characters (${codePoint(invisible)})`;
  if (name.startsWith('/')) return 'must be a relative path';
  if (name.split('/').some((s) => s === '' || s === '.' || s === '..'))
    return 'must not have an empty, "." or ".." segment';
  return null;
}

/** S3's multipart rules, which both storage backends keep. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
export const MAX_PARTS = 10_000;

/** Largest file a batch grant offers a single-shot `singleUrl` for: one part. */
export const SINGLE_UPLOAD_MAX_BYTES = 16 * 1024 * 1024;

/** A part of a file: its number (from 1) and byte range. */
export interface PartRange {
  partNumber: number;
  /** Inclusive first byte. */
  start: number;
  /** Exclusive end. */
  end: number;
}

/** Number of parts; an empty file still has one (empty) part. */
export function partCount(fileSize: number, partSize: number): number {
  return Math.max(1, Math.ceil(fileSize / partSize));
}

export function partRange(fileSize: number, partSize: number, partNumber: number): PartRange {
  const start = (partNumber - 1) * partSize;
  return { partNumber, start, end: Math.min(fileSize, start + partSize) };
}

/** Every part of a file, in order. */
export function planParts(fileSize: number, partSize: number): PartRange[] {
  return Array.from({ length: partCount(fileSize, partSize) }, (_, i) => partRange(fileSize, partSize, i + 1));
}
