import type { StoredBlob } from '@dreamlake/protocol';
import { CliError } from '../errors.ts';
import { countedBody, type Dispatcher, putForAnswer, requestJson } from '../http.ts';

/** What BSS answers once a blob is stored and verified (multipart complete or single-shot). */
export type { StoredBlob } from '@dreamlake/protocol';

/** Bytes already in memory, as the one chunk of a body. */
async function* once(bytes: Buffer): AsyncGenerator<Uint8Array> {
  yield bytes;
}

type Begin = { mode: 'put'; url: string } | { mode: 's3'; url: string; headers?: Record<string, string>; key: string };

export interface SingleFile {
  path: string;
  size: number;
  contentType: string;
  /** The file's bytes when they are already in memory (then the file is not read again). */
  bytes?: Buffer;
}

/**
 * Single-shot uploads (docs/protocol.md, "Single-shot upload"): one PUT of the whole file to BSS
 * on a disk backend; on S3 a presigned PUT straight to the bucket between asking BSS for it and
 * asking BSS to check and publish it. Which one a BSS wants is learnt from its first answer and
 * remembered for the run, so on a disk backend every file after the first costs one request.
 */
export class SingleShot {
  readonly #dispatcher: Dispatcher;
  readonly #modes = new Map<string, 'put' | 's3'>();
  readonly #learning = new Map<string, Promise<Begin>>();

  constructor(dispatcher: Dispatcher) {
    this.#dispatcher = dispatcher;
  }

  /** Sends the file through its signed `singleUrl`; `onBytes` counts bytes put on the wire (negative when taken back). */
  async send(singleUrl: string, file: SingleFile, onBytes: (bytes: number) => void): Promise<StoredBlob> {
    const origin = new URL(singleUrl).origin;
    // While the first file asks, the others wait for its answer rather than all asking at once.
    const learning = this.#learning.get(origin);
    if (learning) await learning.catch(() => undefined);
    if (this.#modes.get(origin) === 'put') return this.#put(singleUrl, file, onBytes, {});
    const asking = this.#begin(singleUrl, file);
    if (!this.#modes.has(origin)) this.#learning.set(origin, asking);
    let begin: Begin;
    try {
      begin = await asking;
    } finally {
      if (this.#learning.get(origin) === asking) this.#learning.delete(origin);
    }
    if (begin.mode === 'put') return this.#put(singleUrl, file, onBytes, {});
    await this.#put(begin.url, file, onBytes, begin.headers ?? {});
    const complete = new URL(singleUrl);
    complete.pathname = `${complete.pathname.replace(/\/$/, '')}/complete`;
    return requestJson<StoredBlob>(this.#dispatcher, 'POST', complete.toString(), { body: { key: begin.key } });
  }

  async #begin(singleUrl: string, file: SingleFile): Promise<Begin> {
    const origin = new URL(singleUrl).origin;
    const begin = await requestJson<Begin>(this.#dispatcher, 'POST', singleUrl, {
      body: { contentType: file.contentType },
    });
    const known =
      begin.mode === 'put' || (begin.mode === 's3' && typeof begin.url === 'string' && typeof begin.key === 'string');
    if (!known) throw new CliError(`${origin} answered a single-shot upload in a way this client does not know`);
    this.#modes.set(origin, begin.mode);
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
    // Bytes in memory go as they are (counted once sent); a file is read as the request is sent.
    const body = file.bytes ? undefined : countedBody(file.path, { start: 0, end: file.size }, count);
    try {
      const { text } = await putForAnswer(this.#dispatcher, url, {
        body: body?.chunks ?? once(file.bytes ?? Buffer.alloc(0)),
        length: file.size,
        contentType: file.contentType,
        headers,
      });
      if (!body) count(file.size);
      if (text === '') return { success: true, key: '', hash: '', size: file.size, contentType: file.contentType };
      try {
        return JSON.parse(text) as StoredBlob;
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
