import { type Dispatcher, request } from 'undici';
import { CliError, NetworkError } from '../errors.ts';
import { errorFromResponse } from '../http.ts';

export interface RangedAnswer {
  body: Dispatcher.ResponseData['body'];
  /** The first byte the body holds: the asked start, or 0 when the service sent the whole blob. */
  start: number;
  /** True for a 206 answer holding the asked range; false when the whole blob came (200). */
  ranged: boolean;
  /** The URL that answered, after redirects (a presigned S3 GET behind BSS's 302). */
  url: string;
}

const MAX_REDIRECTS = 5;

/**
 * GETs `url` from byte `start` (to `end`, exclusive, when given), following redirects with the
 * `Range` header kept on every hop. A service that ignores `Range` answers 200 with the whole
 * blob: the answer then says it starts at 0. Errors are the service's ApiError, or NetworkError.
 */
export async function rangedGet(
  dispatcher: Dispatcher,
  url: string,
  range: { start: number; end?: number },
  signal?: AbortSignal,
): Promise<RangedAnswer> {
  const headers: Record<string, string> = {};
  if (range.start > 0 || range.end !== undefined)
    headers.range = `bytes=${range.start}-${range.end === undefined ? '' : range.end - 1}`;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(current, { method: 'GET', headers, dispatcher, signal });
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      throw new NetworkError(current, error);
    }
    const location = response.headers.location;
    if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
      await response.body.dump();
      current = new URL(location, current).toString();
      continue;
    }
    if (response.statusCode === 206) {
      const first = /^bytes (\d+)-/.exec(String(response.headers['content-range'] ?? ''));
      if (!first || Number(first[1]) !== range.start) {
        await response.body.dump();
        throw new CliError(`${new URL(current).origin} answered another byte range than asked`);
      }
      return { body: response.body, start: range.start, ranged: true, url: current };
    }
    if (response.statusCode === 200) return { body: response.body, start: 0, ranged: false, url: current };
    const text = await response.body.text().catch(() => '');
    throw errorFromResponse(response.statusCode, response.headers, text);
  }
  throw new CliError(`too many redirects downloading from ${new URL(url).origin}`);
}
