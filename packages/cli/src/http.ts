import { AsyncLocalStorage } from 'node:async_hooks';
import { createReadStream, type ReadStream } from 'node:fs';
import { type ErrorFactory, type FetchLike, readFailure, type Transport } from '@dreamlake/protocol/client';
import { Agent, type Dispatcher, request } from 'undici';
import { ApiError, CliError, NetworkError } from './errors.ts';
import { passed } from './transfer/collect.ts';

export type { Dispatcher } from 'undici';

/** One keep-alive connection pool per origin, shared by every request of a run. */
export function createAgent(connectionsPerOrigin = 16): Agent {
  return new Agent({
    connections: connectionsPerOrigin,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    headersTimeout: 300_000,
    bodyTimeout: 300_000,
    connect: { timeout: 15_000 },
  });
}

type Headers = Record<string, string | string[] | undefined>;

/** The header the services log and answer a request's id in. */
export const REQUEST_ID_HEADER = 'x-request-id';

const currentRequestId = new AsyncLocalStorage<string>();

/**
 * Runs `fn` with `id` as the request id of every request it makes, however deep and however
 * concurrent: the server and BSS log it with every line and answer it, so one file's upload can
 * be followed across processes (an upload gives each file an id of its own).
 */
export function withRequestId<T>(id: string, fn: () => T): T {
  return currentRequestId.run(id, fn);
}

/** The request id of the operation running now, if any. */
export function requestId(): string | undefined {
  return currentRequestId.getStore();
}

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The CLI's failures for the protocol client: a service's answer is an ApiError, no answer a
 * NetworkError, a malformed answer a CliError (each prints as one line and exits 1).
 */
export const cliErrors: ErrorFactory = {
  answer: (f) => new ApiError(f.status, f.code, f.message, f.retryAfter, f.details),
  network: (url, cause) => new NetworkError(url, cause),
  invalid: (url, what) => new CliError(`${new URL(url).origin} answered ${what}`),
};

/**
 * An error answer as one ApiError: our services send `{ error: { code, message } }`, S3 sends
 * XML `<Error><Code>…</Code><Message>…</Message></Error>`, anything else keeps its status.
 */
export function errorFromResponse(status: number, headers: Headers, text: string): ApiError {
  return cliErrors.answer(readFailure(status, text, header(headers, 'retry-after'))) as ApiError;
}

async function send(
  dispatcher: Dispatcher,
  method: Dispatcher.HttpMethod,
  url: string,
  options: Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'>,
): Promise<Dispatcher.ResponseData> {
  const id = currentRequestId.getStore();
  const headers = id === undefined ? options.headers : { ...(options.headers as object), [REQUEST_ID_HEADER]: id };
  try {
    return await request(url, { ...options, headers, method, dispatcher });
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new NetworkError(url, error);
  }
}

/** The whole answer body as text, or the service's error when the status is not 2xx. */
async function okText(response: Dispatcher.ResponseData, url: string): Promise<string> {
  let text: string;
  try {
    text = await response.body.text();
  } catch (error) {
    throw new NetworkError(url, error);
  }
  if (response.statusCode < 200 || response.statusCode >= 300) {
    throw errorFromResponse(response.statusCode, response.headers, text);
  }
  return text;
}

/**
 * The shape of `fetch` the protocol client speaks, on the run's keep-alive pool: undici's
 * `request` under it costs far less CPU per JSON request than undici's own `fetch`
 * (docs/benchmarks.md, "Measurements behind choices in the code"). Requests carry the request
 * id of the operation they run in (`withRequestId`), if any.
 */
export function poolFetch(dispatcher: Dispatcher): FetchLike {
  return async (url, init) => {
    const response = await send(dispatcher, init.method as Dispatcher.HttpMethod, url, {
      headers: init.headers,
      body: init.body ?? null,
      signal: init.signal ?? null,
    });
    return {
      status: response.statusCode,
      headers: { get: (name) => header(response.headers, name.toLowerCase()) ?? null },
      text: () => response.body.text(),
    };
  };
}

/** The protocol client's transport for the CLI: its pool, its error types. */
export function cliTransport(dispatcher: Dispatcher): Transport {
  return { fetch: poolFetch(dispatcher), errors: cliErrors };
}

export interface PutBody {
  /** Pulled by the HTTP client as it writes: nothing is read before the request is on a connection. */
  body: AsyncIterable<Uint8Array>;
  length: number;
  contentMd5?: string;
  contentType?: string;
  /** More headers (a presigned S3 PUT names the ones it was signed with). */
  headers?: Record<string, string>;
}

/**
 * Bytes read from a file at a time for a streamed body. Each read is a buffer of its own, dead
 * once on the socket and freed at the next young collection (`passed`): with 4 parts in flight,
 * 256 KiB reads kept the buffers alive at once to a few MiB, where 1 MiB reads left a large
 * upload's peak RSS 7 MiB higher, and sent no faster (docs/benchmarks.md, "Measurements behind
 * choices in the code").
 */
const READ_BYTES = 256 * 1024;

/**
 * A byte range of a file as a body that is read only as the HTTP client pulls it, counting what
 * it hands over. A stream read eagerly (a `data` listener attached before the client takes it)
 * loses the chunks read while the request waits for a connection, and the request then goes out
 * empty.
 */
export function countedBody(
  path: string,
  range: { start: number; end: number },
  onBytes: (bytes: number) => void,
): { chunks: AsyncIterable<Uint8Array>; close(): void } {
  let stream: ReadStream | undefined;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    if (range.end <= range.start) return;
    stream = createReadStream(path, { start: range.start, end: range.end - 1, highWaterMark: READ_BYTES });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      onBytes(chunk.length);
      passed(chunk.length);
      yield chunk;
    }
  }
  return { chunks: chunks(), close: () => stream?.destroy() };
}

/** PUTs a body of known length; answers the ETag header (empty when the service sent none). */
export async function putBody(dispatcher: Dispatcher, url: string, put: PutBody): Promise<string> {
  return (await putForAnswer(dispatcher, url, put)).etag;
}

/** PUTs a body of known length; answers the ETag header (empty when none) and the answer's text. */
export async function putForAnswer(
  dispatcher: Dispatcher,
  url: string,
  put: PutBody,
): Promise<{ etag: string; text: string }> {
  const headers: Record<string, string> = {
    'content-type': put.contentType ?? 'application/octet-stream',
    ...lowerCaseKeys(put.headers ?? {}),
    'content-length': String(put.length),
  };
  if (put.contentMd5) headers['content-md5'] = put.contentMd5;
  const response = await send(dispatcher, 'PUT', url, {
    headers,
    body: put.body as unknown as Dispatcher.DispatchOptions['body'],
  });
  const text = await okText(response, url);
  return { etag: header(response.headers, 'etag') ?? '', text };
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** GETs a URL as a stream, following up to 5 redirects (a presigned S3 GET, for instance). */
export async function getStream(dispatcher: Dispatcher, url: string): Promise<Dispatcher.ResponseData> {
  let current = url;
  for (let hop = 0; hop <= 5; hop += 1) {
    const response = await send(dispatcher, 'GET', current, {});
    const location = header(response.headers, 'location');
    if (response.statusCode >= 300 && response.statusCode < 400 && location) {
      await response.body.dump();
      current = new URL(location, current).toString();
      continue;
    }
    if (response.statusCode < 200 || response.statusCode >= 300) {
      const text = await response.body.text().catch(() => '');
      throw errorFromResponse(response.statusCode, response.headers, text);
    }
    return response;
  }
  throw new CliError(`too many redirects downloading from ${new URL(url).origin}`);
}
