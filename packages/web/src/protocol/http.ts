/** JSON over `fetch`, with every error answer turned into one ProtocolError. */

export class ProtocolError extends Error {
  /** HTTP status; 0 when no answer arrived (network down, CORS refusal, abort). */
  readonly status: number;
  /** The service's stable code (`bad_signature`, `too_large`, …), S3's `<Code>`, or `http_<status>` / `network`. */
  readonly code: string;
  /** Seconds from a `Retry-After` header, when there was one. */
  readonly retryAfter: number | undefined;

  constructor(status: number, code: string, message: string, retryAfter?: number) {
    super(message);
    this.name = 'ProtocolError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

function xmlTag(text: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(text)?.[1];
}

function retryAfterSeconds(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/** An error answer as a ProtocolError: our `{ error: { code, message } }`, S3's XML, or the bare status. */
export function errorFromAnswer(status: number, text: string, retryAfter?: string | null): ProtocolError {
  const wait = retryAfterSeconds(retryAfter ?? null);
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (body?.error && typeof body.error.code === 'string') {
      return new ProtocolError(status, body.error.code, String(body.error.message ?? body.error.code), wait);
    }
  } catch {
    // not JSON
  }
  const code = xmlTag(text, 'Code');
  if (code) return new ProtocolError(status, code, xmlTag(text, 'Message') ?? code, wait);
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return new ProtocolError(status, `http_${status}`, snippet === '' ? `HTTP ${status}` : snippet, wait);
}

/** A signature that has run out: ours say `expired_signature`; S3 says so in its own words. */
export function isExpired(error: unknown): boolean {
  if (!(error instanceof ProtocolError) || error.status !== 403) return false;
  if (['expired_signature', 'ExpiredToken', 'RequestExpired'].includes(error.code)) return true;
  return error.code === 'AccessDenied' && /expire/i.test(error.message);
}

/** Worth another try later: no answer, a timeout, a rate limit or a server-side failure. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof ProtocolError)) return false;
  return error.status === 0 || error.status === 408 || error.status === 429 || error.status >= 500;
}

export interface JsonOptions {
  body?: unknown;
  token?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** One JSON request; resolves with the parsed answer (undefined for 204), throws ProtocolError otherwise. */
export async function requestJson<T>(method: string, url: string, options: JsonOptions = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      signal: options.signal ?? null,
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new ProtocolError(0, 'network', `${new URL(url).origin} did not answer (${(error as Error).message})`);
  }
  const text = await response.text();
  if (!response.ok) throw errorFromAnswer(response.status, text, response.headers.get('retry-after'));
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ProtocolError(
      response.status,
      'invalid_answer',
      `${new URL(url).origin} answered something that is not JSON`,
    );
  }
}

export function withQuery(url: string, extra: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(extra)) u.searchParams.set(k, v);
  return u.toString();
}
