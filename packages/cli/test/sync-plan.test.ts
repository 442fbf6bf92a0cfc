/**
 * What a sync decides without the server: the folder of the space a target names (a bad one is
 * a usage error naming the rule), and which of the space's names a walk would have left out
 * (those stay under --delete, as rclone keeps excluded files without --delete-excluded).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { skippedReporter } from '../src/commands/walk-flags.ts';
import type { CliError } from '../src/errors.ts';
import { planSync } from '../src/sync/plan.ts';
import { parseSpaceFolder } from '../src/target.ts';
import { HashCache } from '../src/transfer/hash-cache.ts';
import { collectFolder, walkExcludes } from '../src/upload/files.ts';
import { fakeIo } from './io.ts';

test('a target names the space and a folder of it; @N, empty, "." and ".." segments are usage errors naming the rule', () => {
  assert.deepEqual(parseSpaceFolder('ann/s'), { namespace: 'ann', space: 's', prefix: '' });
  assert.deepEqual(parseSpaceFolder('ann/s/'), { namespace: 'ann', space: 's', prefix: '' });
  assert.deepEqual(parseSpaceFolder('ann/s/runs/42'), { namespace: 'ann', space: 's', prefix: 'runs/42/' });
  assert.deepEqual(parseSpaceFolder('ann/s/runs/42/'), { namespace: 'ann', space: 's', prefix: 'runs/42/' });
  for (const [text, rule] of [
    ['ann/s/a//b', /must not have an empty, "\." or "\.\." segment/],
    ['ann/s/a/../b', /must not have an empty, "\." or "\.\." segment/],
    ['ann/s/./b/', /must not have an empty, "\." or "\.\." segment/],
    ['ann/s/a\u202Eb', /bidirectional control/],
    ['ann/s@3/a', /a space's head, not one of its snapshots/],
  ] as const) {
    assert.throws(
      () => parseSpaceFolder(text),
      (error: CliError) => error.exitCode === 2 && rule.test(error.message),
      text,
    );
  }
});

test("a folder's contents are named under the prefix without the folder's own name; the names the walk would leave out are told apart", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dreamlake-sync-plan-'));
  try {
    await mkdir(join(dir, 'a', 'deep'), { recursive: true });
    await mkdir(join(dir, 'b'), { recursive: true });
    await writeFile(join(dir, 'x.csv'), 'x');
    await writeFile(join(dir, 'a', 'y.csv'), 'y');
    await writeFile(join(dir, 'a', '.dreamlakeignore'), '*.log\n!keep.log\n');
    await writeFile(join(dir, 'b', 'z.tmp'), 'z');
    await writeFile(join(dir, '.DS_Store'), 'junk');
    const contents = await collectFolder(dir, 'runs/42/', { rules: [{ kind: 'exclude', pattern: '*.tmp' }] });
    assert.deepEqual(contents.files.map((f) => f.name).sort(), ['runs/42/a/y.csv', 'runs/42/x.csv']);
    const excluded = (rel: string) => walkExcludes(contents, rel);
    // Names only the space has: judged by the rules of the folder they would be in.
    assert.equal(excluded('gone.csv'), false);
    assert.equal(excluded('a/old.log'), true, 'a/.dreamlakeignore leaves out *.log');
    assert.equal(excluded('a/keep.log'), false, '…but brings keep.log back');
    assert.equal(excluded('a/deep/x.log'), true, 'a deeper folder without an ignore file keeps its parent rules');
    assert.equal(excluded('old.log'), false, 'the root has no such rule');
    assert.equal(excluded('b/w.tmp'), true, '--exclude');
    assert.equal(excluded('.DS_Store'), true, 'the default list');
    assert.equal(excluded('.git/HEAD'), true, 'a folder of the default list');
    assert.equal(excluded('gone/folder/.dreamlakeignore'), true, 'an ignore file itself is never synced');

    await assert.rejects(
      collectFolder(join(dir, 'x.csv'), ''),
      (e: CliError) => e.exitCode === 2 && /not a folder/.test(e.message),
    );
    await assert.rejects(
      collectFolder(join(dir, 'none'), ''),
      (e: CliError) => e.exitCode === 2 && /no such folder/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a FIFO in the folder is told of once and left out, and --delete keeps the space’s file of its name', async () => {
  const home = await mkdtemp(join(tmpdir(), 'dreamlake-sync-fifo-home-'));
  const dir = await mkdtemp(join(tmpdir(), 'dreamlake-sync-fifo-'));
  try {
    await mkdir(join(dir, 'logs'));
    const local = Array.from({ length: 300 }, (_, i) => `f${String(i).padStart(3, '0')}.bin`);
    for (const name of local) await writeFile(join(dir, name), name);
    const fifos = ['pipe', 'logs/live'];
    for (const name of fifos) execFileSync('mkfifo', [join(dir, ...name.split('/'))]);
    const gone = Array.from({ length: 50 }, (_, i) => `run4/old${i}.bin`);
    const remote = [...local.map((n) => `run4/${n}`), ...gone, 'run4/pipe', 'run4/logs/live'];
    const api = {
      snapshots: async () => ({ snapshots: [{ version: 1 }] }),
      listFilesPage: async (_ns: string, _sp: string, page: { prefix?: string }) => ({
        files: remote
          .filter((n) => n.startsWith(page.prefix ?? ''))
          .map((name) => ({ name, hash: 'f'.repeat(64), size: 1 })),
      }),
    } as unknown as Parameters<typeof planSync>[0];
    const out = fakeIo({});
    const plan = await planSync(
      api,
      new HashCache(home),
      dir,
      { namespace: 'a', space: 's', prefix: 'run4/' },
      { delete: true },
      { onSkipped: skippedReporter(out.io, {}) },
    );
    assert.deepEqual(plan.deletes.map((d) => d.name).sort(), [...gone].sort(), 'only the names gone from the folder');
    assert.deepEqual(
      plan.skipped.map((s) => [s.reason, s.name, s.target]),
      [
        ['special', 'run4/logs/live', 'FIFO'],
        ['special', 'run4/pipe', 'FIFO'],
      ],
    );
    const said = out.stderr().split('\n').filter(Boolean);
    assert.deepEqual(said, [
      'dreamlake: skipped run4/logs/live: a FIFO, not a file (left as it is in the space)',
      'dreamlake: skipped run4/pipe: a FIFO, not a file (left as it is in the space)',
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  }
});
