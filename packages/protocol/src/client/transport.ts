import { type ErrorFactory, protocolErrors, readFailure } from './errors.ts';

/** The part of the Fetch API the protocol client uses: the browser's and Node's `fetch` fit it. */
export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface FetchAnswer {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export type FetchLike = (url: string, init: FetchInit) => Promise<FetchAnswer>;

/** How requests go out and how failures are built; both default to the platform's. */
export interface Transport {
  fetch: FetchLike;
  errors: ErrorFactory;
}

/** The platform's `fetch` (called through globalThis: browsers refuse it detached from window). */
export const platformFetch: FetchLike = (url, init) => globalThis.fetch(url, init);

export function transport(options: Partial<Transport> = {}): Transport {
  return { fetch: options.fetch ?? platformFetch, errors: options.errors ?? protocolErrors };
}

/** Per request: a token for the server, a signal to give up, headers of the caller's (a request id). */
export interface CallOptions {
  signal?: AbortSignal | undefined;
  headers?: Record<string, string> | undefined;
}

export interface JsonCall extends CallOptions {
  body?: unknown;
  token?: string | undefined;
}

/** One JSON request: the parsed answer (`{}` when empty), or the transport's error for any failure. */
export async function requestJson<T>(via: Transport, method: string, url: string, call: JsonCall = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  const init: FetchInit = { method, headers };
  if (call.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(call.body);
  }
  if (call.signal) init.signal = call.signal;
  let text: string;
  let status: number;
  let retryAfter: string | null;
  try {
    const answer = await via.fetch(url, init);
    status = answer.status;
    retryAfter = answer.headers.get('retry-after');
    text = await answer.text();
  } catch (error) {
    // A caller that gave up gets its own abort back, not a network failure.
    if (call.signal?.aborted) throw call.signal.reason ?? error;
    throw via.errors.network(url, error);
  }
  if (status < 200 || status >= 300) throw via.errors.answer(readFailure(status, text, retryAfter));
  if (text === '') return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw via.errors.invalid(url, `something that is not JSON (HTTP ${status})`);
  }
}

/** `url` with some query parameters set (the signed ones stay as they are). */
export function withQuery(url: string, extra: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(extra)) u.searchParams.set(k, v);
  return u.toString();
}
