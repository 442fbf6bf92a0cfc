import type { Readable } from 'node:stream';
import { NetworkError } from '../errors.ts';
import { passed } from '../transfer/collect.ts';

/**
 * Bytes read ahead of the disk per answer before the socket is paused. A page-cache write of
 * this much is quick: a larger batch only holds more memory (times the ranges in flight) and
 * costs more CPU, not less (docs/benchmarks.md, "Measurements behind choices in the code").
 */
const BATCH_BYTES = 256 * 1024;

/**
 * Reads an answer body as it arrives: `take` sees every chunk in order as it comes (to count it,
 * hash it or refuse it by throwing), and `write` gets what arrived while its previous call ran, as
 * one list (one positional `writev`, not a copy into one buffer). At most about 256 KiB waits
 * for the disk; the socket is paused beyond that. A connection lost part-way is a NetworkError.
 */
export function drainBody(
  body: Readable,
  url: string,
  take: (chunk: Buffer) => void,
  write: (chunks: Buffer[], bytes: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending: Buffer[] = [];
    let bytes = 0;
    let writing = false;
    let ended = false;
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      body.destroy();
      reject(error);
    };
    const next = (): void => {
      if (failed || writing) return;
      if (pending.length === 0) {
        if (ended) resolve();
        return;
      }
      const batch = pending;
      const size = bytes;
      pending = [];
      bytes = 0;
      writing = true;
      if (!ended) body.resume();
      write(batch, size).then(() => {
        writing = false;
        next();
      }, fail);
    };
    body.on('data', (chunk: Buffer) => {
      if (failed) return;
      try {
        take(chunk);
      } catch (error) {
        fail(error);
        return;
      }
      pending.push(chunk);
      bytes += chunk.length;
      passed(chunk.length);
      if (bytes >= BATCH_BYTES) body.pause();
      next();
    });
    body.once('end', () => {
      ended = true;
      next();
    });
    body.once('error', (error) => fail(signal?.aborted ? (signal.reason ?? error) : new NetworkError(url, error)));
  });
}
