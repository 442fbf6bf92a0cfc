import type { Readable } from 'node:stream';
import { DreamLakeError } from '@dreamlake/presign';

/** One file's bytes out of a shared body: exactly `size` of them, then `skipRest` reads past what was left. */
export interface Slice extends AsyncIterable<Buffer> {
  skipRest(): Promise<void>;
}

/** A body that ended before the bytes it framed. */
function endedEarly(): DreamLakeError {
  return new DreamLakeError('invalid_part', 'the body ended before the bytes of every file it lists');
}

/**
 * Reads a request body in order: a first line, then slices of known lengths, each consumed by
 * whoever takes it (or skipped). Holds at most one chunk it has read and not handed out.
 */
export class ByteReader {
  readonly #chunks: AsyncIterator<Buffer>;
  #held: Buffer = Buffer.alloc(0);
  #ended = false;

  constructor(body: Readable) {
    this.#chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  async #next(): Promise<boolean> {
    if (this.#ended) return false;
    const { value, done } = await this.#chunks.next();
    if (done) {
      this.#ended = true;
      return false;
    }
    this.#held = this.#held.length === 0 ? value : Buffer.concat([this.#held, value]);
    return true;
  }

  /** The text up to the first newline (which is consumed), at most `maxBytes` long. */
  async line(maxBytes: number): Promise<string> {
    for (;;) {
      const end = this.#held.indexOf(0x0a);
      if (end >= 0) {
        const text = this.#held.subarray(0, end).toString('utf8');
        this.#held = this.#held.subarray(end + 1);
        return text;
      }
      if (this.#held.length > maxBytes) {
        throw new DreamLakeError('too_large', `the first line of the body is over ${maxBytes} bytes`, { maxBytes });
      }
      if (!(await this.#next()))
        throw new DreamLakeError('invalid_request', 'the body ended before the end of its first line');
    }
  }

  /** The next `size` bytes. Another slice may be taken only after this one was read or skipped. */
  take(size: number): Slice {
    let left = size;
    const reader = this;
    async function* bytes(): AsyncGenerator<Buffer> {
      while (left > 0) {
        if (reader.#held.length === 0 && !(await reader.#next())) throw endedEarly();
        const chunk = reader.#held.subarray(0, Math.min(left, reader.#held.length));
        reader.#held = reader.#held.subarray(chunk.length);
        left -= chunk.length;
        yield chunk;
      }
    }
    return {
      [Symbol.asyncIterator]: bytes,
      async skipRest() {
        for await (const _ of bytes());
      },
    };
  }
}
