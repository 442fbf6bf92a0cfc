/**
 * What a client learns from an error answer, read in one place for every service: our
 * `{ "error": { "code", "message" } }`, S3's XML `<Error><Code>…</Code><Message>…</Message>`, or
 * the bare status.
 */
export interface AnswerFailure {
  status: number;
  /** The service's code (`bad_signature`, `too_large`, …), S3's `<Code>`, or `http_<status>`. */
  code: string;
  message: string;
  /** Seconds the service asked to wait (`Retry-After`, in seconds or as a date), when it said. */
  retryAfter: number | undefined;
  /** What the error carries besides its code and message (`names` of a refused commit, say). */
  details?: Record<string, unknown>;
}

/** A failed protocol request: the service's answer, or status 0 with code `network` when none came. */
export class ProtocolError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryAfter: number | undefined;

  constructor(status: number, code: string, message: string, retryAfter?: number) {
    super(message);
    this.name = 'ProtocolError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** `Retry-After` as seconds: a number of seconds or an HTTP date. */
export function retryAfterSeconds(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

function xmlTag(text: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(text)?.[1];
}

/** Reads an error answer's body (and its `Retry-After`) into one AnswerFailure. */
export function readFailure(status: number, text: string, retryAfter?: string | null): AnswerFailure {
  const wait = retryAfterSeconds(retryAfter);
  try {
    const body = JSON.parse(text) as { error?: Record<string, unknown> };
    if (body?.error && typeof body.error.code === 'string') {
      // What the error says besides its code and message (the services spread its details into it).
      const { code, message, details: nested, ...rest } = body.error;
      const details = {
        ...(nested && typeof nested === 'object' && !Array.isArray(nested) ? (nested as Record<string, unknown>) : {}),
        ...rest,
      };
      return {
        status,
        code,
        message: String(message ?? code),
        ...(Object.keys(details).length > 0 ? { details } : {}),
        retryAfter: wait,
      };
    }
  } catch {
    // not JSON
  }
  const code = xmlTag(text, 'Code');
  if (code) return { status, code, message: xmlTag(text, 'Message') ?? code, retryAfter: wait };
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return { status, code: `http_${status}`, message: snippet === '' ? 'no details' : snippet, retryAfter: wait };
}

/**
 * How a client's failures are built: the default makes ProtocolErrors; a client with error types
 * of its own (the CLI's exit codes, say) passes its own.
 */
export interface ErrorFactory {
  /** The service answered with an error. */
  answer(failure: AnswerFailure): Error;
  /** No answer came (refused, reset, timed out, blocked). */
  network(url: string, cause: unknown): Error;
  /** An answer came that the protocol does not allow (not JSON, an unknown shape). */
  invalid(url: string, what: string): Error;
}

export const protocolErrors: ErrorFactory = {
  answer: (f) => new ProtocolError(f.status, f.code, f.message, f.retryAfter),
  network: (url, cause) =>
    new ProtocolError(0, 'network', `${new URL(url).origin} did not answer (${(cause as Error)?.message ?? cause})`),
  invalid: (url, what) => new ProtocolError(0, 'invalid_answer', `${new URL(url).origin} answered ${what}`),
};

/** The status and code of a failure, whichever factory built it (`wireCode` wins: the code as sent). */
export function failureOf(error: unknown): { status: number; code: string; message: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const { status, code, wireCode } = error as Error & { status?: unknown; code?: unknown; wireCode?: unknown };
  if (typeof status !== 'number') return undefined;
  const sent = typeof wireCode === 'string' ? wireCode : code;
  return typeof sent === 'string' ? { status, code: sent, message: error.message } : undefined;
}

/** A signature that has run out: ours say `expired_signature`; S3 says so in its own words. */
export function isExpired(error: unknown): boolean {
  const failure = failureOf(error);
  if (failure?.status !== 403) return false;
  if (['expired_signature', 'ExpiredToken', 'RequestExpired'].includes(failure.code)) return true;
  return failure.code === 'AccessDenied' && /expire/i.test(failure.message);
}

/** Worth another try later: no answer, a timeout, a rate limit or a server-side failure. */
export function isTransient(error: unknown): boolean {
  const failure = failureOf(error);
  if (!failure) return false;
  const { status } = failure;
  return status === 0 || status === 408 || status === 429 || status >= 500;
}
