import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { escapesOnDisk, pathUnder, unsafeNameReason } from '../src/download/names.ts';

test('plain relative names are safe, whatever their characters otherwise', () => {
  for (const name of [
    'a.txt',
    'run 1/cams/frame-0001.jpg',
    'ünïcødé/名前.png',
    '.hidden/x',
    'a..b/c...d.txt',
    'x/con-fig',
  ])
    assert.equal(unsafeNameReason(name), undefined, name);
});

test('a name that would leave the folder, or that a file system cannot hold, has a reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['../x', /"\.\." segment/],
    ['a/../../x', /"\.\." segment/],
    ['a/./b', /"\." segment/],
    ['a//b', /"" segment/],
    ['a/', /"" segment/],
    ['/etc/passwd', /absolute/],
    ['C:/Windows/x', /absolute/],
    ['c:x', /absolute/],
    ['a\u0000b', /NUL/],
    ['a\nb', /control or reserved/],
    ['a\\..\\b', /control or reserved/],
    ['what?.txt', /control or reserved/],
    ['a:b', /absolute/],
    ['ab:c', /control or reserved/],
    ['dir/CON', /reserved device name/],
    ['nul.txt', /reserved device name/],
    ['x/com1.log', /reserved device name/],
    ['LPT9', /reserved device name/],
    ['trailing./x', /ends in a dot or a space/],
    ['x/trailing ', /ends in a dot or a space/],
  ];
  for (const [name, reason] of cases) assert.match(unsafeNameReason(name) ?? 'safe', reason, JSON.stringify(name));
});

test('pathUnder resolves inside the root or answers why not', () => {
  assert.deepEqual(pathUnder('/data/out', 'a/b.txt'), { path: '/data/out/a/b.txt' });
  assert.ok('reason' in pathUnder('/data/out', '../out2/x'));
});

test('a symbolic link on the way is followed only when it stays inside; the target itself may not be one', async () => {
  const work = await mkdtemp(join(tmpdir(), 'dreamlake-names-'));
  try {
    const root = join(work, 'root');
    await mkdir(join(root, 'real'), { recursive: true });
    await mkdir(join(work, 'outside'));
    await symlink(join(root, 'real'), join(root, 'inside-link'));
    await symlink(join(work, 'outside'), join(root, 'outside-link'));
    await writeFile(join(work, 'secret'), 'x');
    await symlink(join(work, 'secret'), join(root, 'file-link'));

    assert.equal(await escapesOnDisk(root, join(root, 'new/dir/file')), undefined);
    assert.equal(await escapesOnDisk(root, join(root, 'inside-link', 'f')), undefined);
    assert.match((await escapesOnDisk(root, join(root, 'outside-link', 'f'))) ?? '', /leading outside/);
    assert.match((await escapesOnDisk(root, join(root, 'file-link'))) ?? '', /is a symbolic link/);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
