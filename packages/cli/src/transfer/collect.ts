import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Bytes passed through buffers of their own (read from a file for a part's PUT, received for a
 * download), over every transfer of the process, between two young-generation collections. Each
 * such buffer is dead once sent or written, but V8 frees it only at a collection, and left alone it
 * starts one only after tens of MiB of them (its external-memory trigger), which then make up much
 * of a large transfer's peak RSS. A minor collection every 4 MiB is cheap, keeps them to a few
 * MiB, and spares most of the full collections that trigger sets off, for less CPU in all
 * (docs/benchmarks.md, "Measurements behind choices in the code").
 */
const COLLECT_EVERY_BYTES = 4 * 1024 * 1024;

type Collect = (options: { type: 'minor' }) => void;
let collect: Collect | undefined;
let sinceCollect = 0;

/**
 * Counts bytes that went through buffers of their own, now or soon dead, and runs a minor
 * collection each time COLLECT_EVERY_BYTES of them have gone by.
 */
export function passed(bytes: number): void {
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
