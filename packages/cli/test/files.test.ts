import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { collectFiles, taking } from '../src/upload/files.ts';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'dreamlake-files-'));
}

test('a folder lists its files in sorted order under its own name, with the size and mtime of their stat', async () => {
  const dir = await tempDir();
  try {
    const run = join(dir, 'run42');
    await mkdir(join(run, 'sub', 'deeper'), { recursive: true });
    await writeFile(join(run, 'b.csv'), 'bb');
    await writeFile(join(run, 'a.bin'), 'a');
    await writeFile(join(run, 'sub', 'c.txt'), 'ccc');
    await writeFile(join(run, 'sub', 'deeper', 'd.json'), '{}');
    await mkdir(join(dir, 'elsewhere'));
    await writeFile(join(dir, 'elsewhere', 'e.bin'), 'eeeee');
    await symlink(join(dir, 'elsewhere'), join(run, 'linked'));
    await writeFile(join(dir, 'single.mp4'), 'video');

    const skipped: string[] = [];
    const files = await collectFiles([run, join(dir, 'single.mp4')], { onSkipped: (s) => skipped.push(s.name) });
    assert.deepEqual(skipped, ['run42/linked'], 'a symbolic link inside the folder is not followed');
    assert.deepEqual(
      files.map((f) => [f.name, f.path, f.size]),
      [
        ['run42/a.bin', join(run, 'a.bin'), 1],
        ['run42/b.csv', join(run, 'b.csv'), 2],
        ['run42/sub/c.txt', join(run, 'sub', 'c.txt'), 3],
        ['run42/sub/deeper/d.json', join(run, 'sub', 'deeper', 'd.json'), 2],
        ['single.mp4', join(dir, 'single.mp4'), 5],
      ],
    );
    for (const file of files) assert.equal(file.mtimeMs, (await stat(file.path)).mtimeMs, file.name);

    const taken = [...taking(files)];
    assert.equal(taken.length, 5);
    assert.ok(
      files.every((f) => f === undefined),
      'the list lets go of each file as it is taken',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('two files that would get one name are refused; folders of the same name with other files are not', async () => {
  const dir = await tempDir();
  try {
    for (const side of ['one', 'two']) {
      await mkdir(join(dir, side, 'shots'), { recursive: true });
      await writeFile(join(dir, side, 'shots', `${side}.jpg`), side);
    }
    const both = await collectFiles([join(dir, 'one', 'shots'), join(dir, 'two', 'shots')]);
    assert.deepEqual(
      both.map((f) => f.name),
      ['shots/one.jpg', 'shots/two.jpg'],
    );
    await writeFile(join(dir, 'two', 'shots', 'one.jpg'), 'again');
    await assert.rejects(collectFiles([join(dir, 'one', 'shots'), join(dir, 'two', 'shots')]), /shots\/one\.jpg/);
    await assert.rejects(
      collectFiles([join(dir, 'one', 'shots', 'one.jpg'), join(dir, 'two', 'shots', 'one.jpg')]),
      /"one\.jpg"/,
    );
    await assert.rejects(collectFiles([join(dir, 'missing')]), /no such file or folder/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
