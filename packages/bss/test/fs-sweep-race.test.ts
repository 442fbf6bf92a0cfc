import assert from 'node:assert/strict';
import { mkdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { FsLayout } from '../src/storage/fs/layout.ts';
import { sweepUploads } from '../src/storage/fs/sweep.ts';
import { tempDir } from './helpers.ts';

const HASH = 'ab'.repeat(32);
const id = (n: number) => n.toString(16).padStart(32, '0');
const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** An upload folder with a few files, dated a day ago (stale for the sweep). */
async function staleUpload(layout: FsLayout, project: string, n: number): Promise<string> {
  const dir = layout.uploadDir('hugo', project, HASH, id(n));
  await mkdir(join(dir, 'data'), { recursive: true });
  const pieces = Array.from({ length: 5 }, (_, i) => join(dir, 'data', `piece-${i}`));
  for (const piece of pieces) await writeFile(piece, 'x');
  const old = new Date(Date.now() - 24 * 3600 * 1000);
  for (const path of [...pieces, join(dir, 'data'), dir]) await utimes(path, old, old);
  return dir;
}

test('a sweep that meets an upload folder written to while it removes it leaves that one and goes on with the rest', async (t) => {
  const { dir: root, remove } = await tempDir();
  t.after(remove);
  const layout = new FsLayout(root);
  // "a" sorts before "b": the pass meets the busy upload first.
  const busy = await staleUpload(layout, 'a', 1);
  const others = await Promise.all([2, 3, 4].map((n) => staleUpload(layout, 'b', n)));
  let busyMet = 0;
  // What a complete still running does to the removal: a file made in the folder after its
  // children were removed, so that removing the folder itself fails with ENOTEMPTY.
  const removeWhileWritten = async (path: string) => {
    if (path !== busy) return rm(path, { recursive: true, force: true });
    busyMet += 1;
    await rm(join(path, 'data'), { recursive: true, force: true });
    await writeFile(join(path, 'completed.json'), '{}');
    throw Object.assign(new Error(`ENOTEMPTY: directory not empty, rmdir '${path}'`), { code: 'ENOTEMPTY' });
  };
  const removed = await sweepUploads(layout, new Date(Date.now() - 3600 * 1000), removeWhileWritten);
  assert.equal(busyMet, 1);
  assert.equal(await exists(join(busy, 'completed.json')), true, 'what was written during the sweep is kept');
  for (const other of others) assert.equal(await exists(other), false, `${other} was left behind`);
  assert.equal(removed, 0, 'none of them was open (no meta.json)');
  // The next pass takes the folder once nothing writes to it.
  const old = new Date(Date.now() - 24 * 3600 * 1000);
  await utimes(join(busy, 'completed.json'), old, old);
  await utimes(busy, old, old);
  await sweepUploads(layout, new Date(Date.now() - 3600 * 1000));
  assert.equal(await exists(busy), false);
});
