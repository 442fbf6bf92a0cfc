import type { BigIntStats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { fileIdOf } from './files.ts';

/**
 * The fsyncs of part files in this process, one per file at a time, and what each told.
 *
 * Parts are answered once written, not flushed. Each one's flush is started in the background as
 * soon as it is answered (one at a time), so that by the time its upload is completed most of
 * the parts are on the disk and the complete's own flushes find nothing left to write. A complete
 * flushes each piece through `flushFile`: a flush under way is joined, one still waiting for its
 * turn is started at once, and any other file is flushed there and then, even one flushed in the
 * background before (an fsync of a file with nothing left to write costs next to nothing). No
 * file is taken as flushed by what it looks like: a new file given a removed file's inode number
 * within one tick of the clock would look the same.
 *
 * Linux reports a failed writeback to one fsync only: another fsync of the same file, at once or
 * later, may succeed although its bytes are not on the disk. So a file is flushed by one fsync at
 * a time in this process (every caller joins it), and a file whose fsync failed anywhere in the
 * process is remembered as failed: its part is dropped by the complete that finds it, to be sent
 * again. Files are known by `fileIdOf` (device, inode, birth time); a new file taken for a failed
 * one is only refused and sent again.
 */

/** Files (see fileIdOf) whose fsync failed in this process. The oldest are forgotten past FAILED_KEPT. */
const failed = new Set<string>();
const FAILED_KEPT = 100_000;

/** A flush waiting for its turn or under way: settles once the fsync has ended, rejects with its error. */
interface Flush {
  done: Promise<void>;
  /** Starts a flush still waiting for its turn at once; undefined once it has started. */
  start?: () => void;
}
const flushes = new Map<string, Flush>();

/**
 * Background flushes under way at once. Each holds one of libuv's four threads for as long as the
 * disk takes, and part writes and the hashing's reads need them too: one keeps the disk busy (the
 * kernel queues all of a file's writeback at once) and leaves three.
 */
const BEHIND_RUNNING = 1;
/** Background flushes waiting (each holds an open file): past this, a part is left to its complete. */
const BEHIND_WAITING = 64;
let behindRunning = 0;
const behindQueue: (() => void)[] = [];

function remember(set: Set<string>, kept: number, id: string): void {
  if (set.size >= kept) {
    const oldest = set.values().next().value;
    if (oldest !== undefined) set.delete(oldest);
  }
  set.add(id);
}

/** Whether an fsync of this file (see fileIdOf) failed in this process. */
export function flushFailed(id: string): boolean {
  return failed.has(id);
}

/** An error for a file whose fsync failed earlier in this process (its own error was told to that flush). */
function failedBefore(): Error {
  return Object.assign(new Error('EIO: an earlier fsync of this file failed'), {
    code: 'EIO',
    errno: -5,
    syscall: 'fsync',
  });
}

/**
 * Runs `sync` as the one flush of file `id` in this process, after `turn` (when given) resolves.
 * Settles when the fsync has ended; rejects with its error, and the file is then failed for good.
 */
function register(id: string, sync: () => Promise<void>, turn?: Promise<void>): Flush {
  const flush: Flush = { done: Promise.resolve() };
  const started = new Promise<void>((resolve) => {
    flush.start = resolve;
  });
  flush.done = (async () => {
    await (turn ? Promise.race([turn, started]) : undefined);
    delete flush.start;
    try {
      await sync();
    } catch (error) {
      remember(failed, FAILED_KEPT, id);
      throw error;
    } finally {
      if (flushes.get(id) === flush) flushes.delete(id);
    }
  })();
  flushes.set(id, flush);
  // A flush no caller waits for (a background one) must not be an unhandled rejection.
  flush.done.catch(() => {});
  return flush;
}

/**
 * Flushes the file open as `handle` (a piece a complete staged; `info` its stat): joins a flush
 * of it under way, starts one waiting for its turn, or runs one. Rejects when the file's fsync
 * failed, here or anywhere in the process before.
 */
export async function flushFile(handle: FileHandle, info: BigIntStats): Promise<void> {
  const id = fileIdOf(info);
  if (failed.has(id)) throw failedBefore();
  const running = flushes.get(id);
  if (running) {
    running.start?.();
    await running.done;
    return;
  }
  await register(id, () => handle.sync()).done;
}

/**
 * A place among the background flushes: `turn` resolves when it holds one of BEHIND_RUNNING
 * slots; `leave` gives the slot (or its place in the queue) up.
 */
function behindTurn(): { turn: Promise<void>; leave: () => void } {
  let holding = false;
  let waiting: (() => void) | undefined;
  const turn = new Promise<void>((resolve) => {
    if (behindRunning < BEHIND_RUNNING) {
      behindRunning += 1;
      holding = true;
      resolve();
      return;
    }
    waiting = () => {
      waiting = undefined;
      behindRunning += 1;
      holding = true;
      resolve();
    };
    behindQueue.push(waiting);
  });
  const leave = () => {
    if (waiting) {
      const at = behindQueue.indexOf(waiting);
      if (at >= 0) behindQueue.splice(at, 1);
      waiting = undefined;
    }
    if (!holding) return;
    holding = false;
    behindRunning -= 1;
    behindQueue.shift()?.();
  };
  return { turn, leave };
}

/**
 * Starts the flush of a part's data file, just written and answered, in the background: at most
 * BEHIND_RUNNING at a time, the others waiting their turn (or started at once by a complete that
 * needs them). Nothing is told to the caller: a failed fsync marks the file as failed, and the
 * complete that stages it drops its part, as when its own flush fails. A file failed or being
 * flushed, a file gone, or a part sent while too many flushes wait, is left to its complete.
 */
export function flushBehind(path: string): void {
  if (behindQueue.length >= BEHIND_WAITING) return;
  void (async () => {
    const handle = await open(path, 'r');
    try {
      const info = await handle.stat({ bigint: true });
      const id = fileIdOf(info);
      if (failed.has(id) || flushes.has(id)) return;
      const { turn, leave } = behindTurn();
      // A complete may start this flush before its turn: it then runs outside the limit.
      const flush = register(id, () => handle.sync(), turn);
      await flush.done.catch(() => {});
      leave();
    } finally {
      await handle.close();
    }
  })().catch(() => {});
}
