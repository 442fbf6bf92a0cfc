/**
 * The disk backend answers a part once written and starts its flush to the disk in the
 * background right after (one at a time), so that a complete finds most parts on the disk and
 * its own flush of each has nothing left to write. What a user relies on stays: a blob is published only over bytes whose
 * fsync succeeded; a part whose background flush fails is dropped by the complete, which
 * publishes nothing and answers 503 naming it, and the part sent again completes; a file is
 * flushed once, never a second time after a failure (Linux may answer that one without error).
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, type FileHandle, open as openFile, writeFile } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep, setImmediate as tick } from 'node:timers/promises';
import type { DreamLakeError } from '@dreamlake/presign';
import { MIN_PART_SIZE } from '@dreamlake/protocol';
import { flushFile } from '../src/storage/fs/file-flushes.ts';
import { tempDir } from './helpers.ts';
import {
  isStagedPiece,
  isUnavailable,
  listed,
  openUpload,
  owner,
  patchOpen,
  project,
  readAll,
  send,
  systemError,
  type Upload,
} from './support/fs-upload-rig.ts';

/** Sends parts `numbers` (1-based) of `u`; answers their ETags by part number. */
async function sendParts(u: Upload, numbers: number[], etags: string[] = []): Promise<string[]> {
  for (const n of numbers) etags[n - 1] = await send(u.storage, u.upload, u.hash, n, u.parts[n - 1] as Buffer);
  return etags;
}

const complete = (u: Upload, etags: string[]) =>
  u.storage.complete(
    u.upload,
    etags.map((etag, i) => ({ partNumber: i + 1, etag })),
  );

interface Syncs {
  /** fsyncs begun of each part's file (by part number), under either name. */
  began: Map<number, number>;
  /** fsyncs of each part's file that ended without error. */
  ended: Map<number, number>;
  /** fsyncs of pieces a complete staged (the name a complete flushes a part by). */
  staged: number;
  /** opens of pieces a complete staged. */
  stagedOpens: number;
}

/**
 * Watches every fsync of a part's file, by its data file's name (`data/{n}.{etag}`) or by a
 * complete's staged piece, and runs it through `around(partNumber, sync)`.
 */
function watchSyncs(
  t: TestContext,
  u: Upload,
  around: (partNumber: number, sync: () => Promise<void>) => Promise<void> = (_, sync) => sync(),
): { syncs: Syncs; restore: () => void } {
  const syncs: Syncs = { began: new Map(), ended: new Map(), staged: 0, stagedOpens: 0 };
  const count = (map: Map<number, number>, n: number) => map.set(n, (map.get(n) ?? 0) + 1);
  const restore = patchOpen(t, async (original, path, ...rest) => {
    const handle = await (original as (...a: unknown[]) => Promise<FileHandle>)(path, ...rest);
    let partNumber: number | undefined;
    const staged = isStagedPiece(u.root, path) && /^[0-9]+$/.test(basename(path));
    if (staged) {
      partNumber = Number(basename(path)) + 1;
      syncs.stagedOpens += 1;
    } else if (path.startsWith(join(u.dir, 'data') + sep)) partNumber = Number(basename(path).split('.')[0]);
    if (partNumber === undefined) return handle;
    const n = partNumber;
    const sync = handle.sync.bind(handle);
    handle.sync = async () => {
      count(syncs.began, n);
      if (staged) syncs.staged += 1;
      await around(n, sync);
      count(syncs.ended, n);
    };
    return handle;
  });
  return { syncs, restore };
}

/** Waits for `condition` (checked every few milliseconds, for at most 10 s); answers whether it held. */
async function eventually(condition: () => boolean): Promise<boolean> {
  for (let waited = 0; waited < 10_000; waited += 5) {
    if (condition()) return true;
    await sleep(5);
  }
  return condition();
}

const total = (map: Map<number, number>) => [...map.values()].reduce((a, b) => a + b, 0);

test('a complete after the parts were flushed in the background flushes each piece once more, as it stages it', async (t) => {
  const u = await openUpload(t, [MIN_PART_SIZE, 100 * 1024]);
  const { syncs } = watchSyncs(t, u);
  const etags = await sendParts(u, [1, 2]);
  assert.ok(await eventually(() => total(syncs.ended) === 2), 'both parts were flushed after they were answered');
  const blob = await complete(u, etags);
  // No file passes for flushed by how it looks (a new file may take a removed one's inode).
  assert.equal(syncs.staged, 2, 'the complete flushed each piece itself');
  assert.deepEqual([...syncs.began.entries()].sort(), [
    [1, 2],
    [2, 2],
  ]);
  assert.ok((await readAll(await u.storage.read(blob))).equals(u.data));
});

test('a part whose background flush fails is dropped by its complete, which publishes nothing; sent again, it completes', async (t) => {
  const u = await openUpload(t, [MIN_PART_SIZE, 100 * 1024]);
  const { syncs, restore } = watchSyncs(t, u, async (n, sync) => {
    if (n === 2) throw systemError('EIO', -5, 'fsync');
    await sync();
  });
  const etags = await sendParts(u, [1, 2]);
  assert.ok(await eventually(() => syncs.began.get(2) === 1), "part 2's flush failed before the complete");
  await assert.rejects(complete(u, etags), (error: unknown) => {
    isUnavailable(error);
    assert.deepEqual((error as DreamLakeError).details, { parts: [2] });
    return true;
  });
  // A second fsync of the file might have succeeded without its bytes on the disk.
  assert.equal(syncs.began.get(2), 1, "part 2's file was not flushed a second time");
  assert.equal(await u.storage.stat({ owner, project, hash: u.hash }), null, 'nothing was published');
  assert.deepEqual(await listed(u.storage, u.upload), [1], 'part 2 was dropped, part 1 kept');
  restore();
  await sendParts(u, [2], etags);
  const blob = await complete(u, etags);
  assert.ok((await readAll(await u.storage.read(blob))).equals(u.data));
});

test('a complete that finds a background flush under way waits for it instead of flushing the file again, and drops the part when it fails', async (t) => {
  const u = await openUpload(t, [MIN_PART_SIZE, 100 * 1024]);
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const { syncs, restore } = watchSyncs(t, u, async (n, sync) => {
    if (n !== 2) return sync();
    await gate;
    throw systemError('EIO', -5, 'fsync');
  });
  const etags = await sendParts(u, [1, 2]);
  assert.ok(await eventually(() => syncs.began.get(2) === 1), "part 2's flush began after it was answered");
  const completing = complete(u, etags);
  const outcome = completing.then(
    () => 'published',
    (error: unknown) => error,
  );
  assert.ok(await eventually(() => syncs.stagedOpens >= 2), 'the complete reached its flush of the pieces');
  release();
  const error = await outcome;
  isUnavailable(error);
  assert.deepEqual((error as DreamLakeError).details, { parts: [2] });
  assert.equal(syncs.began.get(2), 1, "part 2's file was flushed once: the complete joined its flush");
  assert.equal(await u.storage.stat({ owner, project, hash: u.hash }), null, 'nothing was published');
  restore();
  await sendParts(u, [2], etags);
  const blob = await complete(u, etags);
  assert.ok((await readAll(await u.storage.read(blob))).equals(u.data));
});

test('background flushes run one at a time; a complete starts the ones still waiting at once, and flushes each part once', async (t) => {
  const u = await openUpload(t, [...Array.from({ length: 5 }, () => MIN_PART_SIZE), 1024]);
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let running = 0;
  let most = 0;
  const { syncs } = watchSyncs(t, u, async (_, sync) => {
    running += 1;
    most = Math.max(most, running);
    try {
      await gate;
      await sync();
    } finally {
      running -= 1;
    }
  });
  const etags = await sendParts(u, [1, 2, 3, 4, 5, 6]);
  assert.ok(await eventually(() => total(syncs.began) === 1), 'a flush began');
  for (let i = 0; i < 20; i += 1) await tick();
  assert.equal(total(syncs.began), 1, 'the others wait their turn');
  const completing = complete(u, etags);
  assert.ok(await eventually(() => total(syncs.began) === 6), 'the complete started the waiting flushes');
  release();
  const blob = await completing;
  assert.equal(most, 6);
  assert.equal(syncs.staged, 0, 'the complete flushed no piece itself');
  assert.deepEqual(
    [...syncs.ended.values()],
    Array.from({ length: 6 }, () => 1),
    'each part was flushed once',
  );
  assert.ok((await readAll(await u.storage.read(blob))).equals(u.data));
});

test('a file flushed before is flushed again by the next complete: nothing passes for flushed by its identity', async (t) => {
  const temp = await tempDir('bss-flush-known-');
  t.after(() => temp.remove());
  const path = join(temp.dir, 'piece');
  await writeFile(path, randomBytes(1024));
  /** Flushes `path` as a complete does; answers how many fsyncs that ran. */
  const flushOnce = async (): Promise<number> => {
    const handle = await openFile(path, 'r');
    let syncs = 0;
    const sync = handle.sync.bind(handle);
    handle.sync = async () => {
      syncs += 1;
      await sync();
    };
    try {
      await flushFile(handle, await handle.stat({ bigint: true }));
    } finally {
      await handle.close();
    }
    return syncs;
  };
  assert.equal(await flushOnce(), 1, 'a file never flushed is flushed');
  assert.equal(await flushOnce(), 1, 'the same file, unchanged, is flushed again');
  await appendFile(path, 'more bytes');
  assert.equal(await flushOnce(), 1, 'written to since, it is flushed again');
});
