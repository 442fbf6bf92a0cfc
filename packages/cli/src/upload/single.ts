import { open } from 'node:fs/promises';
import type { SingleBegin, StoredBlob } from '@dreamlake/protocol';
import { parseStored } from '@dreamlake/protocol/client';
import { type BandwidthLimiter, limited } from '../bwlimit.ts';
import { ApiError, CliError } from '../errors.ts';
import { countedBody, type Dispatcher, putForAnswer, REQUEST_ID_HEADER } from '../http.ts';
import { CliBssApi } from './bss.ts';

/** What BSS answers once a blob is stored and verified (multipart complete or single-shot). */
export type { StoredBlob } from '@dreamlake/protocol';

/** Files up to this size are read whole before their request rather than streamed into it. */
const READ_WHOLE_BYTES = 1024 * 1024;

/**
 * The first `size` bytes of a file, read through one handle (open, read, close: a stream costs
 * several times the work for a file that fits one read). A file now shorter answers what it has,
 * and the request then fails on its length as a streamed one would.
 */
async function readStart(path: string, size: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const bytes = Buffer.allocUnsafeSlow(size);
    let length = 0;
    while (length < size) {
      const { bytesRead } = await handle.read(bytes, length, size - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return length === size ? bytes : bytes.subarray(0, length);
  } finally {
    await handle.close();
  }
}

/**
 * Bytes in memory as a request body: handed to the HTTP client whole, which writes them with the
 * headers at once (an async iterable costs a few promises and a drain wait per request). The
 * client takes a buffer as a body; the PutBody type names only the streamed kind.
 */
function wholeBody(bytes: Buffer): AsyncIterable<Uint8Array> {
  return bytes as unknown as AsyncIterable<Uint8Array>;
}

async function* once(bytes: Buffer): AsyncGenerator<Uint8Array> {
  yield bytes;
}

export interface SingleFile {
  path: string;
  size: number;
  contentType: string;
  /** The file's bytes when they are already in memory (then the file is not read again). */
  bytes?: Buffer;
  /** The id the file's requests carry (`x-request-id`), for following it in the services' logs. */
  requestId?: string;
}

/**
 * The largest body a `put` answer says BSS takes by PUT. A BSS that names no limit (the disk
 * backend, before it named one) takes every single-shot body that way.
 */
function putLimitOf(begin: SingleBegin): number {
  const maxSize = (begin as { maxSize?: unknown }).maxSize;
  return typeof maxSize === 'number' && Number.isSafeInteger(maxSize) && maxSize >= 0 ? maxSize : Infinity;
}

/** BSS refusing a PUT of a body it wants sent another way (a size it stages in S3, an older S3 BSS). */
function wantsAnotherWay(error: unknown): boolean {
  return error instanceof ApiError && error.status === 409 && error.wireCode === 'conflict';
}

/**
 * Single-shot uploads (docs/protocol.md, "Single-shot upload"): one PUT of the whole file to BSS
 * (the disk backend, and S3 for small files); for larger files on S3 a presigned PUT straight to
 * the bucket between asking BSS for it and asking BSS to check and publish it. How large a body
 * each BSS takes by PUT is learnt from its first `put` answer and remembered for the run, so every
 * later file up to that size costs one request; a larger one asks. A BSS that answers only `s3`
 * (an older S3 BSS) is asked for every file, and one that refuses a PUT it was sent without asking
 * (409 `conflict`) is asked again for that file and forgotten.
 */
export class SingleShot {
  readonly #dispatcher: Dispatcher;
  readonly #bss: CliBssApi;
  /** By origin: the largest body that BSS takes by PUT (Infinity: any). */
  readonly #putUpTo = new Map<string, number>();
  /** Origins that have answered how they take a body at least once. */
  readonly #answered = new Set<string>();
  readonly #learning = new Map<string, Promise<SingleBegin>>();
  readonly #limiter: BandwidthLimiter | undefined;

  constructor(dispatcher: Dispatcher, limiter?: BandwidthLimiter) {
    this.#dispatcher = dispatcher;
    this.#limiter = limiter;
    this.#bss = new CliBssApi(dispatcher);
  }

  /** Sends the file through its signed `singleUrl`; `onBytes` counts bytes put on the wire (negative when taken back). */
  async send(singleUrl: string, file: SingleFile, onBytes: (bytes: number) => void): Promise<StoredBlob> {
    const origin = new URL(singleUrl).origin;
    // The id goes as a header of its own: tying it to the file's async context instead would make
    // every promise of the run pay for the context's tracking.
    const idHeader: Record<string, string> = file.requestId ? { [REQUEST_ID_HEADER]: file.requestId } : {};
    // While the first file asks, the others wait for its answer rather than all asking at once.
    const learning = this.#learning.get(origin);
    if (learning) await learning.catch(() => undefined);
    if (file.size <= (this.#putUpTo.get(origin) ?? -1)) {
      try {
        return await this.#put(singleUrl, file, onBytes, idHeader);
      } catch (error) {
        if (!wantsAnotherWay(error)) throw error;
        this.#putUpTo.delete(origin);
      }
    }
    return this.#firstOrStaged(singleUrl, file, onBytes, idHeader);
  }

  /** A BSS whose way is not known yet for this size, or one that stages bodies in S3: ask it first. */
  async #firstOrStaged(
    singleUrl: string,
    file: SingleFile,
    onBytes: (bytes: number) => void,
    idHeader: Record<string, string>,
  ): Promise<StoredBlob> {
    const origin = new URL(singleUrl).origin;
    const asking = this.#begin(singleUrl, file, idHeader);
    if (!this.#answered.has(origin)) this.#learning.set(origin, asking);
    let begin: SingleBegin;
    try {
      begin = await asking;
    } finally {
      if (this.#learning.get(origin) === asking) this.#learning.delete(origin);
    }
    if (begin.mode === 'put') return this.#put(singleUrl, file, onBytes, idHeader);
    await this.#put(begin.url, file, onBytes, begin.headers ?? {});
    return this.#bss.singleComplete(singleUrl, begin.key, { headers: idHeader });
  }

  async #begin(singleUrl: string, file: SingleFile, idHeader: Record<string, string>): Promise<SingleBegin> {
    const begin = await this.#bss.singleBegin(singleUrl, file.contentType, { headers: idHeader });
    const origin = new URL(singleUrl).origin;
    this.#answered.add(origin);
    if (begin.mode === 'put') this.#putUpTo.set(origin, putLimitOf(begin));
    return begin;
  }

  async #put(
    url: string,
    file: SingleFile,
    onBytes: (bytes: number) => void,
    headers: Record<string, string>,
  ): Promise<StoredBlob> {
    let counted = 0;
    const count = (bytes: number) => {
      counted += bytes;
      onBytes(bytes);
    };
    // Bytes in memory go as they are (counted once sent), and so does a file small enough to read
    // whole now; a larger one is read as the request is sent.
    const whole = file.bytes ?? (file.size <= READ_WHOLE_BYTES ? await readStart(file.path, file.size) : undefined);
    const body = whole ? undefined : countedBody(file.path, { start: 0, end: file.size }, count);
    try {
      // Under --bwlimit even bytes in memory go through the run's limiter, a slice at a time.
      const source = body?.chunks ?? (this.#limiter && whole ? once(whole) : wholeBody(whole ?? Buffer.alloc(0)));
      const { text } = await putForAnswer(this.#dispatcher, url, {
        body: limited(this.#limiter, source),
        length: file.size,
        contentType: file.contentType,
        headers,
      });
      if (!body) count(file.size);
      try {
        return (
          parseStored(text) ?? { success: true, key: '', hash: '', size: file.size, contentType: file.contentType }
        );
      } catch {
        throw new CliError(`${new URL(url).origin} answered a single-shot upload with something that is not JSON`);
      }
    } catch (error) {
      onBytes(-counted);
      throw error;
    } finally {
      body?.close();
    }
  }
}
