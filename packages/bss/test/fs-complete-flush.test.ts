/**
 * The disk backend's complete flushes the parts it assembles (they were acknowledged unflushed).
 * Only an fsync's own failure says a part's bytes may not be on the disk, and drops that part so
 * it is sent again; any other storage error (a file that cannot be opened or stat'ed: EIO,
 * EACCES, EMFILE) fails the complete as unavailable and keeps every part, and the same complete
 * goes through once the storage answers again. The pieces are flushed a few at a time, not all
 * at once.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fsp, { type FileHandle, mkdir, readFile, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join, sep } from 'node:path';
import { test } from 'node:test';
import type { DreamLakeError } from '@dreamlake/presign';
import { flushPieces } from '../src/storage/fs/complete.ts';
import { partData, partPointer } from '../src/storage/fs/layout.ts';
import { tempDir } from './helpers.ts';
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
  send,
  setup,
  systemError,
} from './support/fs-upload-rig.ts';

test('a part data file that cannot be stat-ed (EIO) fails the complete as unavailable and drops nothing', async (t) => {
  const s = await setup(t);
  // Another instance (a restart) does not trust the parts: it checks that their files are there.
  const restarted = await backend(s.root);
  const part2 = partData(s.dir, 2, JSON.parse(await readFile(partPointer(s.dir, 2), 'utf8')).etag);
  const original = fsp.stat;
  fsp.stat = ((path: unknown, ...rest: unknown[]) =>
    String(path) === part2
      ? Promise.reject(systemError('EIO', -5, 'stat'))
      : (original as (...a: unknown[]) => ReturnType<typeof fsp.stat>)(path, ...rest)) as typeof fsp.stat;
  syncBuiltinESMExports();
  const restore = () => {
    fsp.stat = original;
    syncBuiltinESMExports();
  };
  t.after(restore);

  await assert.rejects(completeAll(s, restarted), isUnavailable);
  restore();
  assert.equal(await restarted.stat({ owner, project, hash: s.hash }), null, 'nothing was published');
  assert.deepEqual(await listed(restarted, s.upload), [1, 2], 'both parts are kept');
  const blob = await completeAll(s, restarted);
  assert.ok((await readAll(await restarted.read(blob))).equals(s.data));
});

test('pieces that cannot be opened for their flush (EMFILE) fail the complete as unavailable and drop nothing', async (t) => {
  const s = await setup(t);
  const restore = patchOpen(t, (original, path, ...rest) =>
    isStagedPiece(s.root, path)
      ? Promise.reject(systemError('EMFILE', -24, 'open'))
      : (original as (...a: unknown[]) => Promise<FileHandle>)(path, ...rest),
  );
  await assert.rejects(completeAll(s), isUnavailable);
  restore();
  assert.equal(await s.storage.stat({ owner, project, hash: s.hash }), null, 'nothing was published');
  assert.deepEqual(await listed(s.storage, s.upload), [1, 2], 'both parts are kept');
  const blob = await completeAll(s);
  assert.ok((await readAll(await s.storage.read(blob))).equals(s.data));
});

test('a piece whose fsync fails drops that part alone, to be sent again', async (t) => {
  const s = await setup(t, { flushBehind: false });
  const restore = patchOpen(t, async (original, path, ...rest) => {
    const handle = await (original as (...a: unknown[]) => Promise<FileHandle>)(path, ...rest);
    if (isStagedPiece(s.root, path) && path.endsWith(`${sep}1`)) {
      handle.sync = () => Promise.reject(systemError('EIO', -5, 'fsync'));
    }
    return handle;
  });
  await assert.rejects(completeAll(s), (error: unknown) => {
    isUnavailable(error);
    assert.deepEqual((error as DreamLakeError).details, { parts: [2] });
    return true;
  });
  restore();
  assert.equal(await s.storage.stat({ owner, project, hash: s.hash }), null, 'nothing was published');
  assert.deepEqual(await listed(s.storage, s.upload), [1], 'part 2 was dropped, part 1 kept');
  s.etags[1] = await send(s.storage, s.upload, s.hash, 2, s.parts[1] as Buffer);
  const blob = await completeAll(s);
  assert.ok((await readAll(await s.storage.read(blob))).equals(s.data));
});

test('pieces are flushed at most 16 at a time, every one of them', async (t) => {
  const temp = await tempDir('bss-flush-limit-');
  t.after(() => temp.remove());
  const dir = join(temp.dir, 'pieces');
  await mkdir(dir);
  const pieces = Array.from({ length: 100 }, (_, i) => join(dir, String(i)));
  for (const piece of pieces) await writeFile(piece, randomBytes(16));
  let open = 0;
  let most = 0;
  const synced = new Set<string>();
  patchOpen(t, async (original, path, ...rest) => {
    const handle = await (original as (...a: unknown[]) => Promise<FileHandle>)(path, ...rest);
    if (!path.startsWith(dir + sep)) return handle;
    open += 1;
    most = Math.max(most, open);
    const sync = handle.sync.bind(handle);
    const close = handle.close.bind(handle);
    handle.sync = async () => {
      await sync();
      synced.add(path);
    };
    handle.close = async () => {
      open -= 1;
      await close();
    };
    return handle;
  });
  const { ids, failed } = await flushPieces(pieces);
  assert.deepEqual(failed, []);
  assert.equal(synced.size, 100, 'every piece was flushed');
  assert.equal(new Set(ids).size, 100, 'each piece is its own file');
  assert.ok(most <= 16, `${most} pieces were open at once`);
  assert.equal(open, 0, 'every piece was closed');
});
