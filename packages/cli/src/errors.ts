import { type ErrorCode, isErrorCode } from '@dreamlake/protocol';

/**
 * The CLI's failures. Each prints as one line; `exitCode` is 1 for failures and 2 for usage
 * errors.
 */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** The command line itself is wrong (exit code 2). */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
  }
}

/**
 * S3's names (its XML `<Code>`) for the refusals the CLI meets on presigned part URLs and
 * redirects; they are not DreamLake codes and stay apart from them.
 */
export const S3_CODES = [
  'AccessDenied',
  'BadDigest',
  'EntityTooSmall',
  'ExpiredToken',
  'InternalError',
  'InvalidPart',
  'InvalidPartOrder',
  'NoSuchKey',
  'NoSuchUpload',
  'PreconditionFailed',
  'RequestExpired',
  'RequestTimeout',
  'ServiceUnavailable',
  'SignatureDoesNotMatch',
  'SlowDown',
] as const;
export type S3Code = (typeof S3_CODES)[number];

/**
 * What `ApiError.code` can be: a DreamLake code (the protocol's union), an S3 name, or
 * `http_<status>` for an answer whose code the CLI does not know (a bare HTTP error, or a code
 * added by a newer server: that code is still in `wireCode` and in the message).
 */
export type ApiErrorCode = ErrorCode | S3Code | `http_${number}`;

function isS3Code(value: string): value is S3Code {
  return (S3_CODES as readonly string[]).includes(value);
}

/** The code a service sent, narrowed to the ones the CLI knows; others fall back to `http_<status>`. */
export function apiErrorCode(status: number, wireCode: string): ApiErrorCode {
  if (isErrorCode(wireCode) || isS3Code(wireCode)) return wireCode;
  return `http_${status}`;
}

/** Names shown after an error's message, at most. */
const NAMES_SHOWN = 10;

/**
 * `details.names` of an answer (the names a commit was refused for, say) as the end of its
 * line, when there is more than one: `: "a", "b" and 3 more`. One name is in the message already.
 */
function namesOf(details: Record<string, unknown> | undefined): string {
  const names = details?.names;
  if (!Array.isArray(names) || names.length < 2 || !names.every((n) => typeof n === 'string')) return '';
  const count = typeof details?.count === 'number' ? details.count : names.length;
  const shown = names.slice(0, NAMES_SHOWN).map((n) => JSON.stringify(n));
  const more = count - shown.length;
  return `: ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** A service answered with an error: its HTTP status and, when it sent one, its code and message. */
export class ApiError extends CliError {
  readonly status: number;
  readonly code: ApiErrorCode;
  /** The code exactly as the answer carried it (the same as `code` unless the CLI does not know it). */
  readonly wireCode: string;
  /** Seconds the service asked us to wait (Retry-After), when it said. */
  readonly retryAfterSeconds: number | undefined;
  /** The error's `details`, when the service sent them. */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    status: number,
    wireCode: string,
    message: string,
    retryAfterSeconds?: number,
    details?: Record<string, unknown>,
  ) {
    super(`${wireCode}: ${message} (HTTP ${status})${namesOf(details)}`);
    this.status = status;
    this.code = apiErrorCode(status, wireCode);
    this.wireCode = wireCode;
    this.retryAfterSeconds = retryAfterSeconds;
    this.details = details;
  }
}

/** The request never got an answer (refused, reset, timed out). */
export class NetworkError extends CliError {
  override readonly cause: unknown;

  constructor(url: string, cause: unknown) {
    const reason = (cause as { code?: string; message?: string })?.code ?? (cause as Error)?.message ?? String(cause);
    super(`cannot reach ${new URL(url).origin}: ${reason}`);
    this.cause = cause;
  }
}

/** One line for any thrown value: never a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}
