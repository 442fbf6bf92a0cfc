/**
 * Two completes of one upload at once (a client that retries a slow complete): Linux reports a
 * failed writeback to one fsync only, so of two flushes of one part's file, one may fail and the
 * other succeed over bytes that are not on the disk. The disk backend must then publish nothing:
 * a retry joins the complete under way, a file is flushed by one fsync at a time in the process
 * (another backend's complete joins it), and a file whose flush failed anywhere in the process is
 * never published. The part is dropped; sent again, the upload completes.
 */

import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { sep } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FsStorage } from '../src/storage/fs/index.ts';
import {
  backend,
  completeAll,
  isStagedPiece,
  isUnavailable,
  listed,
  owner,
  patchOpen,
  project,
  readAll,
  type Setup,
  send,
  setup,
  systemError,
} from './support/fs-upload-rig.ts';

/**
 * Makes the first fsync of part 2's staged piece fail (EIO), as a failed writeback does, once a
 * second fsync of such a piece has begun, or after 2 s; that second one and any later go through,
 * as Linux answers them once the error was reported.
 */
function failFirstFlushOfPart2(t: TestContext, root: string): { flushes(): number } {
  let flushes = 0;
  let secondBegan = () => {};
  const second = new Promise<void>((resolve) => {
    secondBegan = resolve;
  });
  let firstFailed = () => {};
  const failed = new Promise<void>((resolve) => {
    firstFailed = resolve;
  });
  patchOpen(t, async (original, path, ...rest) => {
    const handle = await (original as (...a: unknown[]) => Promise<FileHandle>)(path, ...rest);
    if (!isStagedPiece(root, path) || !path.endsWith(`${sep}1`)) return handle;
    const sync = handle.sync.bind(handle);
    handle.sync = async () => {
      flushes += 1;
      if (flushes === 1) {
        await Promise.race([second, sleep(2000)]);
        setImmediate(firstFailed);
        throw systemError('EIO', -5, 'fsync');
      }
      secondBegan();
      await failed;
      return sync();
    };
    return handle;
  });
  return { flushes: () => flushes };
}

async function sendPart2AgainAndComplete(s: Setup, storage: FsStorage): Promise<void> {
  assert.deepEqual(await listed(storage, s.upload), [1], 'part 2 was dropped, part 1 kept');
  s.etags[1] = await send(storage, s.upload, s.hash, 2, s.parts[1] as Buffer);
  const blob = await completeAll(s, storage);
  assert.ok((await readAll(await storage.read(blob))).equals(s.data));
}

test("a complete retried while the first runs publishes nothing when the part's flush fails", async (t) => {
  const s = await setup(t, { flushBehind: false });
  failFirstFlushOfPart2(t, s.root);
  const results = await Promise.allSettled([completeAll(s), completeAll(s)]);
  for (const result of results) {
    assert.equal(result.status, 'rejected', 'neither complete succeeds');
    if (result.status === 'rejected') isUnavailable(result.reason);
  }
  assert.equal(await s.storage.stat({ owner, project, hash: s.hash }), null, 'nothing was published');
  await sendPart2AgainAndComplete(s, s.storage);
});

test('two backends of one process flush a file once: the second complete joins the fsync under way, and neither publishes when it fails', async (t) => {
  const s = await setup(t, { flushBehind: false });
  // Another backend over the same folder in the same process (its completes are its own).
  const other = await backend(s.root, { flushBehind: false });
  const hook = failFirstFlushOfPart2(t, s.root);
  const results = await Promise.allSettled([completeAll(s), completeAll(s, other)]);
  assert.equal(hook.flushes(), 1, 'part 2 was flushed once in the process');
  for (const result of results) {
    assert.equal(result.status, 'rejected', 'neither complete succeeds');
    if (result.status === 'rejected') isUnavailable(result.reason);
  }
  assert.equal(await s.storage.stat({ owner, project, hash: s.hash }), null, 'nothing was published');
  await sendPart2AgainAndComplete(s, s.storage);
});
