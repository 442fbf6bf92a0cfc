import type { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { NetworkError } from '../errors.ts';

/**
 * Bytes read ahead of the disk per answer before the socket is paused. A page-cache write of
 * this much is quick: a larger batch only holds more memory (times the ranges in flight) and
 * costs more CPU, not less (docs/benchmarks.md, "Measurements behind choices in the code").
 */
const BATCH_BYTES = 256 * 1024;

/**
 * Bytes received, over every answer of the process, between two young-generation collections.
 * Each socket read is a new buffer of up to 64 KiB, dead once written to disk; V8 frees those
 * only at a collection, and left alone it starts one only after tens of MiB of them (its
 * external-memory trigger), which then make up much of a large download's peak RSS. A minor
 * collection every 4 MiB is cheap, keeps them to a few MiB, and spares most of the full
 * collections that trigger sets off, for less CPU in all (docs/benchmarks.md, "Measurements
 * behind choices in the code").
 */
const COLLECT_EVERY_BYTES = 4 * 1024 * 1024;

type Collect = (options: { type: 'minor' }) => void;
let collect: Collect | undefined;
let sinceCollect = 0;

function received(bytes: number): void {
  sinceCollect += bytes;
  if (sinceCollect < COLLECT_EVERY_BYTES) return;
  sinceCollect = 0;
  collect ??= youngCollector();
  collect({ type: 'minor' });
}

/**
 * V8's `gc`, which a process gets only with `--expose-gc`: the flag is set just long enough for
 * a fresh context to hold it, so no other context sees a `gc` global it did not ask for.
 */
function youngCollector(): Collect {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as Collect;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    if (typeof gc === 'function') return gc as Collect;
  } catch {
    // Without it the buffers wait for V8's own collections, as before.
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  return () => undefined;
}

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
      received(chunk.length);
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
