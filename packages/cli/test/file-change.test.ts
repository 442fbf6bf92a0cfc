/**
 * A file written to, touched, removed or replaced between its hash and its upload is told apart
 * from one left alone, with a reason a user can act on.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertUnchanged, FileChangedError, fileChange } from '../src/upload/changed.ts';
import { collectFiles } from '../src/upload/files.ts';

test('of 300 listed files, exactly those changed since the listing are reported, each with its reason', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dreamlake-changed-'));
  try {
    const run = join(dir, 'run');
    await mkdir(run);
    for (let i = 0; i < 300; i += 1) await writeFile(join(run, `f${String(i).padStart(3, '0')}.bin`), `file ${i}`);
    const files = await collectFiles([run]);
    const inodes = new Map(await Promise.all(files.map(async (f) => [f.name, (await stat(f.path)).ino] as const)));

    await appendFile(join(run, 'f010.bin'), ' and more');
    const later = new Date(Date.now() + 60_000);
    await utimes(join(run, 'f020.bin'), later, later);
    await rm(join(run, 'f030.bin'));
    await rm(join(run, 'f040.bin'));
    await mkdir(join(run, 'f040.bin'));
    const before = await stat(join(run, 'f050.bin'));
    await writeFile(join(dir, 'new'), 'file 50');
    await utimes(join(dir, 'new'), before.atime, before.mtime);
    await rename(join(dir, 'new'), join(run, 'f050.bin'));

    const reasons: Record<string, string> = {};
    for (const file of files) {
      const change = await fileChange(file.path, {
        size: file.size,
        mtimeMs: file.mtimeMs,
        ino: inodes.get(file.name) as number,
      });
      if (change) reasons[file.name] = change.reason;
    }
    assert.deepEqual(reasons, {
      'run/f010.bin': 'size',
      'run/f020.bin': 'mtime',
      'run/f030.bin': 'gone',
      'run/f040.bin': 'not-a-file',
      'run/f050.bin': 'replaced',
    });

    const grown = files.find((f) => f.name === 'run/f010.bin');
    assert.ok(grown);
    await assert.rejects(assertUnchanged(grown.path, grown.name, grown), (error: Error) => {
      assert.ok(error instanceof FileChangedError);
      assert.equal(error.change.reason, 'size');
      assert.equal(error.exitCode, 1);
      assert.match(error.message, /^run\/f010\.bin: changed while being uploaded: 7 bytes, now 16; upload it again/);
      return true;
    });
    const same = files.find((f) => f.name === 'run/f011.bin');
    assert.ok(same);
    await assertUnchanged(same.path, same.name, same);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
