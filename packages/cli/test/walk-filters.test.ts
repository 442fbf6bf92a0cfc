/**
 * What a folder walk leaves out: the default list, `.dreamlakeignore` files at several levels
 * (negations, anchors, `**`, a subfolder's rules relative to it), `--exclude`/`--include`
 * patterns; a folder left out is not read; and, when links are followed, a loop is told of and
 * not walked forever.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { CliError } from '../src/errors.ts';
import { collectFiles, type IgnoredEntry, type SkippedEntry } from '../src/upload/files.ts';

let work: string;
let proj: string;
/** Every file of the project, and whether the walk with its ignore files and defaults takes it. */
const expected = new Map<string, boolean>();

async function put(rel: string, kept: boolean, body = rel): Promise<void> {
  const path = join(proj, ...rel.split('/'));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, body);
  expected.set(`proj/${rel}`, kept);
}

function pad(i: number): string {
  return String(i).padStart(3, '0');
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'dreamlake-walk-filters-'));
  proj = join(work, 'proj');
  await mkdir(proj);
  await writeFile(
    join(proj, '.dreamlakeignore'),
    ['# logs and build output', '*.log', '!important.log', '/build/', 'data/**/*.tmp', 'cache/', ''].join('\n'),
  );
  await mkdir(join(proj, 'sub'));
  await writeFile(join(proj, 'sub', '.dreamlakeignore'), ['!*.log', 'debug.log', '/local/', ''].join('\r\n'));
  for (let i = 0; i < 200; i += 1) await put(`src/m${pad(i)}.ts`, true);
  for (let i = 0; i < 40; i += 1) await put(`src/run${pad(i)}.log`, false);
  await put('src/important.log', true);
  await put('important.log', true);
  await put('top.log', false);
  for (let i = 0; i < 50; i += 1) await put(`build/out${pad(i)}.js`, false);
  await put('src/build/kept.js', true); // `/build/` is anchored to the root
  for (let i = 0; i < 20; i += 1) {
    await put(`data/t${pad(i)}.tmp`, false); // `a/**/b` matches `a/b` too
    await put(`data/a/t${pad(i)}.tmp`, false);
    await put(`data/a/b/c/t${pad(i)}.tmp`, false);
    await put(`data/a/b/c/r${pad(i)}.csv`, true);
    await put(`data/r${pad(i)}.csv`, true);
    await put(`src/t${pad(i)}.tmp`, true); // not under data/
  }
  for (let i = 0; i < 10; i += 1) {
    await put(`cache/c${pad(i)}.bin`, false);
    await put(`src/deep/cache/c${pad(i)}.bin`, false);
  }
  // A malformed line in a folder left out: the walk never reads it.
  await writeFile(join(proj, 'cache', '.dreamlakeignore'), 'oops\\\n');
  for (let i = 0; i < 30; i += 1) await put(`sub/y${pad(i)}.log`, true); // brought back by sub's file
  await put('sub/debug.log', false);
  await put('sub/deep/debug.log', false); // sub's `debug.log` is not anchored
  for (let i = 0; i < 5; i += 1) {
    await put(`sub/local/l${pad(i)}.txt`, false);
    await put(`sub/deep/local/l${pad(i)}.txt`, true); // sub's `/local/` is anchored to sub
  }
  // The default list.
  await put('.DS_Store', false);
  await put('src/.DS_Store', false);
  await put('Thumbs.db', false);
  await put('sub/desktop.ini', false);
  for (let i = 0; i < 10; i += 1) await put(`.git/objects/o${pad(i)}`, false);
  await put('src/__pycache__/m.cpython-312.pyc', false);
  await put('tool.pyc', false);
  await put('src/.m000.ts.swp', false);
  await put('notes.txt~', false);
  await put('.gitignore', true);
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function keptNames(): string[] {
  return [...expected].filter(([, kept]) => kept).map(([name]) => name);
}

test('a walk leaves out what the .dreamlakeignore files at two levels and the default list say, and never uploads the ignore files', async () => {
  assert.ok(expected.size > 450, `a project of ${expected.size} files`);
  const ignored: IgnoredEntry[] = [];
  const files = await collectFiles([proj], { onIgnored: (entry) => ignored.push(entry) });
  const names = files.map((f) => f.name);
  assert.deepEqual([...names].sort(), keptNames().sort());
  assert.ok(!names.some((n) => n.endsWith('.dreamlakeignore')), 'the ignore files are not uploaded');
  assert.deepEqual(names, [...names].sort(), 'still in sorted order');

  // Folders left out are told of once, and nothing inside them is read or told of.
  const folders = ignored.filter((e) => e.folder).map((e) => e.name);
  assert.deepEqual(folders.sort(), [
    'proj/.git',
    'proj/build',
    'proj/cache',
    'proj/src/__pycache__',
    'proj/src/deep/cache',
    'proj/sub/local',
  ]);
  assert.ok(
    !ignored.some((e) => /^proj\/(build|cache|\.git)\//.test(e.name)),
    'nothing under a folder left out is told of',
  );
  const ignoredFiles = ignored.filter((e) => !e.folder).length;
  const leftOutFiles = [...expected.values()].filter((kept) => !kept).length;
  assert.equal(ignoredFiles + 50 + 10 + 10 + 10 + 1 + 5, leftOutFiles, 'the count of what was left out adds up');
  assert.equal(ignored.find((e) => e.name === 'proj/top.log')?.path, join(proj, 'top.log'));
});

test('--no-default-ignores takes the files the default list leaves out; the ignore files still apply', async () => {
  const files = await collectFiles([proj], { defaultIgnores: false });
  const names = new Set(files.map((f) => f.name));
  for (const name of [
    'proj/.DS_Store',
    'proj/Thumbs.db',
    'proj/tool.pyc',
    'proj/notes.txt~',
    'proj/.git/objects/o000',
  ]) {
    assert.ok(names.has(name), name);
  }
  assert.ok(names.has('proj/src/__pycache__/m.cpython-312.pyc'));
  assert.ok(!names.has('proj/top.log'));
  assert.ok(!names.has('proj/build/out000.js'));
});

test('--exclude and --include patterns: the last that matches wins, they override the ignore files, `*` stays in its folder', async () => {
  const files = await collectFiles([proj], {
    rules: [
      { kind: 'exclude', pattern: '*.csv' },
      { kind: 'include', pattern: '/data/a/**' },
      { kind: 'include', pattern: 'build/' },
      { kind: 'include', pattern: 'top.log' },
      { kind: 'exclude', pattern: '/src/*.ts' },
    ],
  });
  const names = files.map((f) => f.name);
  const count = (re: RegExp) => names.filter((n) => re.test(n)).length;
  assert.equal(count(/^proj\/data\/r\d+\.csv$/), 0, 'the CSVs directly under data are excluded');
  assert.equal(count(/^proj\/data\/a\/b\/c\/r\d+\.csv$/), 20, 'brought back under data/a');
  assert.equal(count(/^proj\/data\/a\/t\d+\.tmp$/), 20, 'an include overrides the ignore file');
  assert.equal(count(/^proj\/build\/out\d+\.js$/), 50, 'a folder brought back by a folder pattern is walked');
  assert.ok(names.includes('proj/top.log'));
  assert.equal(count(/^proj\/src\/m\d+\.ts$/), 0);
  assert.ok(names.includes('proj/src/build/kept.js'), '`/src/*.ts` does not cross into src/build');
  assert.ok(!names.includes('proj/src/.DS_Store'), 'the defaults still apply');
});

test('a malformed .dreamlakeignore line or a bad pattern stops the walk with exit code 2, naming the file and line or the flag', async () => {
  const dir = join(work, 'bad');
  await mkdir(join(dir, 'a', 'b'), { recursive: true });
  await writeFile(join(dir, 'ok.txt'), 'x');
  await writeFile(join(dir, 'a', 'b', '.dreamlakeignore'), '# fine\n*.tmp\n[abc\n');
  await assert.rejects(collectFiles([dir]), (error: Error) => {
    assert.ok(error instanceof CliError);
    assert.equal(error.exitCode, 2);
    assert.equal(
      error.message,
      `${join(dir, 'a', 'b', '.dreamlakeignore')}:3: a "[" that is never closed (write "\\[" for a bracket): "[abc"`,
    );
    return true;
  });
  await assert.rejects(collectFiles([proj], { rules: [{ kind: 'exclude', pattern: 'data/{a,b' }] }), (error: Error) => {
    assert.ok(error instanceof CliError);
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /^--exclude "data\/\{a,b": not a valid pattern/);
    return true;
  });
});

test('followSymlinks takes what links point at, under the links’ names, and tells of a loop instead of walking it forever', async () => {
  const loopy = join(work, 'loopy');
  await mkdir(join(loopy, 'a', 'b'), { recursive: true });
  await writeFile(join(loopy, 'top.txt'), 'top');
  await writeFile(join(loopy, 'a', 'f.txt'), 'f');
  for (let i = 0; i < 200; i += 1) await writeFile(join(loopy, 'a', 'b', `g${pad(i)}.txt`), 'g');
  await symlink('../..', join(loopy, 'a', 'b', 'up'));
  await symlink('.', join(loopy, 'a', 'self'));
  await symlink('b', join(loopy, 'a', 'link-to-b'));
  await symlink('../top.txt', join(loopy, 'a', 'f-link.txt'));
  await symlink('nowhere', join(loopy, 'a', 'dangling'));
  await symlink('../a/b/g000.txt', join(loopy, 'a', 'ignored-link.log'));
  await writeFile(join(loopy, '.dreamlakeignore'), '*.log\n');

  const plain: SkippedEntry[] = [];
  const notFollowed = await collectFiles([loopy], { onSkipped: (e) => plain.push(e) });
  assert.equal(notFollowed.length, 202, 'by default links are skipped, as before');
  assert.equal(plain.length, 6);
  assert.ok(plain.every((e) => e.reason === 'symlink'));

  const skipped: SkippedEntry[] = [];
  const files = await collectFiles([loopy], { followSymlinks: true, onSkipped: (e) => skipped.push(e) });
  const names = files.map((f) => f.name);
  assert.equal(names.filter((n) => n.startsWith('loopy/a/b/g')).length, 200);
  assert.equal(
    names.filter((n) => n.startsWith('loopy/a/link-to-b/g')).length,
    200,
    'a link to a folder is walked under its name',
  );
  assert.equal(files.find((f) => f.name === 'loopy/a/f-link.txt')?.size, 3, 'a link to a file is that file');
  assert.equal(files.length, 403);
  assert.ok(!names.includes('loopy/a/ignored-link.log'), 'the filters apply to links by their names');
  assert.deepEqual(skipped.map((e) => [e.name, e.reason]).sort(), [
    ['loopy/a/b/up', 'loop'],
    ['loopy/a/dangling', 'symlink'],
    ['loopy/a/link-to-b/up', 'loop'],
    ['loopy/a/self', 'loop'],
  ]);
  assert.equal(skipped.find((e) => e.name === 'loopy/a/b/up')?.target, '../..');
});
