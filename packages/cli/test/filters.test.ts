/**
 * The ignore rules on their own: the lines of a `.dreamlakeignore` file (and the ones refused,
 * with their file and line), the `--exclude`/`--include` patterns (rclone's reading: `*` stays
 * in its folder, `**` crosses, a leading `/` anchors, a trailing `/` means folders, the last
 * match wins), and how the two and the default list combine.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CliError } from '../src/errors.ts';
import { compileGlobRules, DEFAULT_IGNORES, parseIgnoreFile, WalkFilter } from '../src/filters/index.ts';

function refusal(text: string, line: number, problem: RegExp): void {
  assert.throws(
    () => parseIgnoreFile(text, '/x/.dreamlakeignore'),
    (error: Error) => {
      assert.ok(error instanceof CliError, String(error));
      assert.equal(error.exitCode, 2);
      assert.ok(error.message.startsWith(`/x/.dreamlakeignore:${line}: `), error.message);
      assert.match(error.message, problem);
      return true;
    },
  );
}

test('an ignore file is read as git reads a .gitignore: comments, negation, anchors, `**`, folders only', () => {
  const rules = parseIgnoreFile(
    '\uFEFF# a comment\r\n\n*.log\n!keep.log\n/only-root.txt\ndocs/**/draft-*\ntmp/\n\\#literal\ntrailing\\ \n',
    'f',
  );
  const ignored = (name: string) => rules.ignores(name);
  assert.equal(ignored('a.log'), true);
  assert.equal(ignored('x/y/a.log'), true);
  assert.equal(ignored('x/keep.log'), false);
  assert.equal(ignored('only-root.txt'), true);
  assert.equal(ignored('x/only-root.txt'), false);
  assert.equal(ignored('docs/draft-1'), true);
  assert.equal(ignored('docs/a/b/draft-2'), true);
  assert.equal(ignored('docs/final'), false);
  assert.equal(ignored('tmp/'), true);
  assert.equal(ignored('tmp'), false, 'a file named tmp is not a folder');
  assert.equal(ignored('#literal'), true);
  assert.equal(ignored('trailing '), true);
  assert.equal(ignored('A.LOG'), false, 'case-sensitive, as names in a space');
});

test('a line an ignore file cannot mean is refused with its file and line', () => {
  refusal('ok\n# c\nfoo\\\n', 3, /a backslash with nothing after it/);
  refusal('!\n', 1, /a "!" with no pattern/);
  refusal('a\nb\n!   \n', 3, /a "!" with no pattern/);
  refusal('data/[ab\n', 1, /a "\[" that is never closed/);
  refusal('a\n/\n', 2, /only "\/"/);
  refusal('a\u0007b\n', 1, /a control character/);
  // Not refused: brackets closed or escaped, a `]` first in a class.
  for (const fine of ['[ab]x', '\\[ab', '[]]x', '[!a]', '[[:alpha:]]', 'a\\\\']) parseIgnoreFile(`${fine}\n`, 'f');
});

test('the default list leaves out what systems, editors and version control leave in folders', () => {
  const filter = new WalkFilter();
  const leftOut = [
    ['.DS_Store', false],
    ['a/b/.DS_Store', false],
    ['Thumbs.db', false],
    ['x/desktop.ini', false],
    ['.git', true],
    ['sub/.hg', true],
    ['.svn', true],
    ['pkg/__pycache__', true],
    ['pkg/m.pyc', false],
    ['.notes.md.swp', false],
    ['notes.md~', false],
  ] as const;
  for (const [name, folder] of leftOut) assert.equal(filter.ignores(WalkFilter.ROOT, name, folder), true, name);
  for (const [name, folder] of [
    ['.gitignore', false],
    ['git', true],
    ['a.py', false],
    ['.git', false],
  ] as const) {
    assert.equal(filter.ignores(WalkFilter.ROOT, name, folder), false, name);
  }
  const off = new WalkFilter({ defaultIgnores: false });
  for (const [name, folder] of leftOut) assert.equal(off.ignores(WalkFilter.ROOT, name, folder), false, name);
  assert.equal(DEFAULT_IGNORES.length, 10);
});

test('--exclude/--include: `*` stays in its folder, `**` crosses, `/` anchors, a trailing `/` is a folder, the last match wins', () => {
  const verdict = compileGlobRules([
    { kind: 'exclude', pattern: '*.csv' },
    { kind: 'include', pattern: '/keep/*.csv' },
    { kind: 'exclude', pattern: '/keep/old-*' },
    { kind: 'include', pattern: 'data/**/final.csv' },
    { kind: 'exclude', pattern: 'cache/' },
    { kind: 'exclude', pattern: '!x' },
  ]);
  const cases: Array<[string, boolean, string | undefined]> = [
    ['a.csv', false, 'exclude'],
    ['x/y/a.csv', false, 'exclude'],
    ['keep/a.csv', false, 'include'],
    ['keep/sub/a.csv', false, 'exclude'],
    ['keep/old-a.csv', false, 'exclude'],
    ['sub/keep/a.csv', false, 'exclude'],
    ['data/final.csv', false, 'include'],
    ['data/a/b/final.csv', false, 'include'],
    ['q/data/a/final.csv', false, 'include'],
    ['.hidden.csv', false, 'exclude'],
    ['cache', true, 'exclude'],
    ['x/cache', true, 'exclude'],
    ['cache', false, undefined],
    ['a.csv', true, undefined],
    ['readme.md', false, undefined],
    ['!x', false, 'exclude'],
    ['x', false, undefined],
  ];
  for (const [name, folder, expected] of cases) assert.equal(verdict(name, folder), expected, name);
});

test('a bad pattern is refused with exit code 2, naming the flag', () => {
  for (const [pattern, kind] of [
    ['a[', 'exclude'],
    ['{a,b', 'include'],
    ['', 'exclude'],
    ['/', 'include'],
  ] as const) {
    assert.throws(
      () =>
        new WalkFilter({
          rules: [
            { kind: 'exclude', pattern: 'ok' },
            { kind, pattern },
          ],
        }),
      (error: Error) => {
        assert.ok(error instanceof CliError);
        assert.equal(error.exitCode, 2);
        assert.ok(error.message.startsWith(`--${kind} ${JSON.stringify(pattern)}: `), error.message);
        return true;
      },
    );
  }
});

test('a subfolder’s ignore file speaks of names relative to it and overrides its parents’; the command line overrides both', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dreamlake-filters-'));
  try {
    await writeFile(join(dir, 'root'), '*.log\ngen/\n/top-only\n');
    await writeFile(join(dir, 'sub'), '!*.log\nnoisy.log\n/top-only\n!gen/\n');
    const filter = new WalkFilter({ rules: [{ kind: 'include', pattern: 'forced.log' }] });
    const atRoot = await filter.withIgnoreFile(WalkFilter.ROOT, '', join(dir, 'root'));
    const inSub = await filter.withIgnoreFile(atRoot, 'a/sub', join(dir, 'sub'));
    const ignores = (rules: typeof atRoot, name: string, folder = false) => filter.ignores(rules, name, folder);
    assert.equal(ignores(atRoot, 'a/x.log'), true);
    assert.equal(ignores(inSub, 'a/sub/x.log'), false, 'brought back by the deeper file');
    assert.equal(ignores(inSub, 'a/sub/deeper/x.log'), false);
    assert.equal(ignores(inSub, 'a/sub/noisy.log'), true);
    assert.equal(ignores(atRoot, 'top-only'), true);
    assert.equal(ignores(atRoot, 'a/top-only'), false);
    assert.equal(ignores(inSub, 'a/sub/top-only'), true, "anchored to the subfolder's own folder");
    assert.equal(ignores(inSub, 'a/sub/q/top-only'), false);
    assert.equal(ignores(atRoot, 'a/gen', true), true);
    assert.equal(ignores(inSub, 'a/sub/gen', true), false, 'a folder brought back by the deeper file');
    assert.equal(ignores(inSub, 'a/sub/gen/out.txt'), false, 'and what is in it');
    assert.equal(ignores(inSub, 'a/sub/gen/out.log'), false, 'the deeper file brings logs back');
    assert.equal(ignores(atRoot, 'a/forced.log'), false, 'the command line first');
    await writeFile(join(dir, 'bad'), '\n\n\nok\nno\\\n');
    await assert.rejects(
      filter.withIgnoreFile(atRoot, 'b', join(dir, 'bad')),
      new RegExp(`^CliError: ${join(dir, 'bad')}:5: `),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
