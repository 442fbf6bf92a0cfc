/**
 * Versioned spaces through the real `dreamlake` bin against the real server and BSS: an upload
 * is one snapshot, `rm`, `rm -r`, `log`, `ls @N`, `download @N`, `diff`, `restore` and `verify`,
 * and a run killed before it commits resumes without sending a stored blob again. On the disk
 * backend with SQLite, on S3 (DREAMLAKE_TEST_S3_ENV) and on PostgreSQL (DREAMLAKE_TEST_PG_URL).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../packages/server/test/helpers/engines.ts';
import {
  type Backend,
  backends,
  jsonLines,
  reportS3Skipped,
  runCli,
  Services,
  signedUpUser,
  spawnCli,
  tempDir,
  type UploadLine,
  waitFor,
} from './harness.ts';

interface Snapshot {
  version: number;
  parent: number | null;
  message: string;
  files: number;
  counts: { added: number; changed: number; removed: number };
}
interface SnapshotLine {
  event: 'snapshot';
  created: boolean;
  snapshot: Snapshot;
}

/** `count` small files of their own bytes: `sub/` holds the last `inSub` of them. */
async function makeFolder(dir: string, count: number, inSub: number): Promise<string[]> {
  await mkdir(join(dir, 'sub'), { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const name = i >= count - inSub ? `sub/s${String(i).padStart(4, '0')}.txt` : `f${String(i).padStart(4, '0')}.txt`;
    await writeFile(join(dir, name), Buffer.concat([Buffer.from(`${name}\n`), randomBytes(200 + (i % 50) * 40)]));
    names.push(name);
  }
  return names;
}

const configurations: Array<{ title: string; backend: Backend; engine: 'sqlite' | 'postgres' }> = [
  ...backends().map((backend) => ({ title: `${backend.name} backend, SQLite`, backend, engine: 'sqlite' as const })),
  { title: 'fs backend, PostgreSQL', backend: backends()[0] as Backend, engine: 'postgres' },
];

for (const { title, backend, engine } of configurations) {
  describe(`versioned spaces (${title})`, () => {
    let services: Services;
    let database: TestDatabase | undefined;
    let work: string;
    let env: Record<string, string>;
    let user: string;
    let space: string;
    let names: string[];
    const cli = (...args: string[]) => runCli(args, env);

    before(async () => {
      work = await tempDir('dreamlake-versions-');
      if (engine === 'postgres') database = await createTestDatabase('postgres');
      services = await Services.start({ backend, ...(database ? { databaseUrl: database.url } : {}) });
      ({ env, user } = await signedUpUser(services.serverUrl, join(work, 'home'), 'vs'));
      space = `${user}/ds`;
      names = (await makeFolder(join(work, 'data'), 600, 100)).map((n) => `data/${n}`);
    });
    after(async () => {
      await services?.close();
      await database?.drop();
      if (work) await rm(work, { recursive: true, force: true, maxRetries: 5 });
    });

    test('a 600-file folder upload is ONE snapshot, its version printed (and the last --json line)', async () => {
      const up = await cli('upload', join(work, 'data'), '--to', space, '-m', 'first run', '--json');
      assert.equal(up.code, 0, up.stderr + services.logs());
      const lines = jsonLines<UploadLine & { event?: string }>(up.stdout);
      assert.equal(lines.filter((l) => l.event === undefined).length, 600);
      const made = lines.at(-1) as unknown as SnapshotLine;
      assert.equal(made.event, 'snapshot');
      assert.equal(made.created, true);
      assert.equal(made.snapshot.version, 1);
      assert.equal(made.snapshot.files, 600);
      assert.equal(made.snapshot.message, 'first run');
      assert.deepEqual(made.snapshot.counts, { added: 600, changed: 0, removed: 0 });

      const log = await cli('log', space, '--json');
      assert.equal(log.code, 0, log.stderr);
      const snapshots = JSON.parse(log.stdout) as Snapshot[];
      assert.deepEqual(
        snapshots.map((s) => [s.version, s.files, s.message]),
        [[1, 600, 'first run']],
      );
    });

    test('a later change is snapshot 2; ls @1 and download @1 give the old bytes; diff lists exactly the changed names', async () => {
      const oldBytes = await readFile(join(work, 'data', 'f0001.txt'));
      await writeFile(join(work, 'data', 'f0001.txt'), 'changed\n');
      await writeFile(join(work, 'data', 'new.txt'), 'new\n');
      const up = await cli('upload', join(work, 'data'), '--to', space);
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stdout, new RegExp(`^${space}@2: snapshot 2 made, \\+1 ~1 -0, 601 files \\(.*\\)$`, 'm'));

      const at1 = await cli('ls', `${space}@1`, '--json');
      assert.equal(at1.code, 0, at1.stderr);
      assert.deepEqual(
        (JSON.parse(at1.stdout) as Array<{ name: string }>).map((f) => f.name),
        [...names].sort(),
      );
      const head = await cli('ls', space, '--json');
      assert.equal((JSON.parse(head.stdout) as unknown[]).length, 601);
      const sub1 = await cli('ls', `${space}@1/data/sub/`, '--json');
      assert.equal((JSON.parse(sub1.stdout) as unknown[]).length, 100);

      const old = await cli('download', `${space}@1/data/f0001.txt`, '-o', join(work, 'old.txt'));
      assert.equal(old.code, 0, old.stderr);
      assert.ok((await readFile(join(work, 'old.txt'))).equals(oldBytes), 'version 1 gives the bytes it had');
      const now = await cli('download', `${space}/data/f0001.txt`, '-o', join(work, 'now.txt'));
      assert.equal(now.code, 0, now.stderr);
      assert.equal(await readFile(join(work, 'now.txt'), 'utf8'), 'changed\n');
      const missing = await cli('download', `${space}@1/data/new.txt`, '-o', join(work, 'never.txt'));
      assert.equal(missing.code, 1, 'version 1 has no data/new.txt');

      const diff = await cli('diff', `${space}@1`, `${space}@2`, '--json');
      assert.equal(diff.code, 0, diff.stderr);
      const { changes } = JSON.parse(diff.stdout) as { changes: Array<{ name: string; change: string }> };
      assert.deepEqual(
        changes.map((c) => [c.change, c.name]),
        [
          ['changed', 'data/f0001.txt'],
          ['added', 'data/new.txt'],
        ],
      );
      const text = await cli('diff', `${space}@2`, `${space}@1`);
      assert.deepEqual(
        text.stdout
          .trim()
          .split('\n')
          .map((l) => l.split('  ')[0]),
        ['~ data/f0001.txt', '- data/new.txt'],
      );
      assert.match(text.stderr, /@2 -> .*@1: 0 added, 1 changed, 1 removed/);
    });

    test('rm removes a name and rm -r a folder, one snapshot each; older snapshots keep them; log lists them newest first', async () => {
      const one = await cli('rm', `${space}/data/f0002.txt`, '--json');
      assert.equal(one.code, 0, one.stderr);
      const removed = JSON.parse(one.stdout) as SnapshotLine;
      assert.deepEqual([removed.snapshot.version, removed.snapshot.files], [3, 600]);
      assert.deepEqual(removed.snapshot.counts, { added: 0, changed: 0, removed: 1 });

      const folder = await cli('rm', '-r', `${space}/data/sub/`, '-m', 'drop sub');
      assert.equal(folder.code, 0, folder.stderr);
      assert.match(folder.stdout, new RegExp(`^${space}@4: snapshot 4 made, \\+0 ~0 -100, 500 files`));

      const head = JSON.parse((await cli('ls', space, '--json')).stdout) as Array<{ name: string }>;
      assert.equal(head.length, 500);
      assert.ok(!head.some((f) => f.name.startsWith('data/sub/') || f.name === 'data/f0002.txt'));
      const at3 = JSON.parse((await cli('ls', `${space}@3/data/sub/`, '--json')).stdout) as unknown[];
      assert.equal(at3.length, 100);

      const absent = await cli(
        'rm',
        `${space}/data/not-there.txt`,
        `${space}/data/f0003.txt`,
        `${space}/data/gone.txt`,
      );
      assert.equal(absent.code, 1);
      assert.match(
        absent.stderr,
        /^dreamlake: not_found: 2 names are not in .*: "data\/gone\.txt", "data\/not-there\.txt"\n$/,
      );
      const folderWithoutR = await cli('rm', `${space}/data/`);
      assert.equal(folderWithoutR.code, 2);

      const log = await cli('log', space);
      assert.equal(log.code, 0, log.stderr);
      const lines = log.stdout.trim().split('\n');
      assert.deepEqual(
        lines.map((l) => Number(l.trim().split(/\s+/)[0])),
        [4, 3, 2, 1],
      );
      assert.match(lines[0] ?? '', /\+0 ~0 -100\s+500 files\s+.*drop sub$/);
      assert.match(lines[3] ?? '', /\+600 ~0 -0\s+600 files\s+.*first run$/);
    });

    test('restore @1 makes head hold version 1 again: no diff, and verify passes on a folder downloaded at 1', async () => {
      const copy = join(work, 'copy1');
      const down = await cli('download', `${space}@1`, '-o', copy);
      assert.equal(down.code, 0, down.stderr);

      const restored = await cli('restore', `${space}@1`, '--json');
      assert.equal(restored.code, 0, restored.stderr);
      const made = JSON.parse(restored.stdout) as SnapshotLine;
      assert.equal(made.created, true);
      assert.deepEqual([made.snapshot.version, made.snapshot.files], [5, 600]);

      const diff = JSON.parse((await cli('diff', `${space}@1`, `${space}@5`, '--json')).stdout) as {
        changes: unknown[];
      };
      assert.deepEqual(diff.changes, []);
      const verifyHead = await cli('verify', space, copy);
      assert.equal(verifyHead.code, 0, verifyHead.stdout + verifyHead.stderr);
      assert.match(verifyHead.stdout, new RegExp(`matches ${space}@5: 600 files`));
      assert.equal((await cli('verify', `${space}@1`, copy)).code, 0);
      assert.equal((await cli('verify', `${space}@1/data/sub/`, join(copy, 'data', 'sub'))).code, 0);

      const again = JSON.parse((await cli('restore', `${space}@5`, '--json')).stdout) as SnapshotLine;
      assert.equal(again.created, false, 'head already equals 5');
      assert.equal(again.snapshot.version, 5);
    });

    test('verify lists exactly the one changed, one missing and one extra file, and exits 1', async () => {
      const copy = join(work, 'copy1');
      // Same size, other bytes: only its hash tells.
      const path = join(copy, 'data', 'f0010.txt');
      const bytes = await readFile(path);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
      await writeFile(path, bytes);
      await unlink(join(copy, 'data', 'f0011.txt'));
      await writeFile(join(copy, 'data', 'extra.bin'), 'extra');

      const text = await cli('verify', `${space}@1`, copy);
      assert.equal(text.code, 1);
      assert.deepEqual(text.stdout.trim().split('\n'), [
        'missing  data/f0011.txt',
        'extra    data/extra.bin',
        'changed  data/f0010.txt',
      ]);
      assert.match(text.stderr, /differs from .*@1: 1 missing, 1 extra, 1 changed\n$/);
      const json = await cli('verify', `${space}@1`, copy, '--json');
      assert.equal(json.code, 1);
      const report = JSON.parse(json.stdout.trim()) as Record<string, unknown>;
      assert.deepEqual(
        [report.matches, report.missing, report.extra, report.changed, report.files, report.same],
        [false, ['data/f0011.txt'], ['data/extra.bin'], ['data/f0010.txt'], 600, 598],
      );
    });

    test('verify leaves out what upload and sync leave out: the default list, .dreamlakeignore and --exclude', async () => {
      const copy = join(work, 'copy-filters');
      assert.equal((await cli('download', `${space}@1`, '-o', copy)).code, 0);
      await writeFile(join(copy, '.DS_Store'), 'finder');
      await mkdir(join(copy, 'data', '__pycache__'), { recursive: true });
      await writeFile(join(copy, 'data', '__pycache__', 'x.pyc'), 'bytecode');
      await writeFile(join(copy, 'data', 'notes.tmp'), 'scratch');
      await writeFile(join(copy, 'data', 'local.log'), 'log');
      await writeFile(join(copy, '.dreamlakeignore'), '*.log\n');

      const filtered = await cli('verify', `${space}@1`, copy, '--exclude', '*.tmp');
      assert.equal(filtered.code, 0, filtered.stdout + filtered.stderr);
      assert.match(filtered.stdout, /matches .*@1: 600 files\n$/);
      const plain = await cli('verify', `${space}@1`, copy);
      assert.equal(plain.code, 1);
      assert.deepEqual(plain.stdout.trim().split('\n'), ['extra    data/notes.tmp']);
      const strict = await cli('verify', `${space}@1`, copy, '--no-default-ignores', '--exclude', '*.tmp');
      assert.equal(strict.code, 1);
      assert.deepEqual(strict.stdout.trim().split('\n'), ['extra    .DS_Store', 'extra    data/__pycache__/x.pyc']);
    });

    test('a malformed @ is one line and exit 2; a version past head is not found', async () => {
      for (const args of [
        ['ls', `${space}@x`],
        ['download', `${space}@0`, '-o', join(work, 'never')],
        ['diff', `${space}@-1`, `${space}@2`],
        ['restore', `${space}@`],
        ['verify', `${space}@1.5`, work],
      ]) {
        const r = await cli(...args);
        assert.equal(r.code, 2, args.join(' '));
        assert.match(r.stderr, /^dreamlake: ".*" *: .*after "@" is not a version.*\n$/, args.join(' '));
      }
      const past = await cli('ls', `${space}@99`);
      assert.equal(past.code, 1);
      assert.match(past.stderr, /not_found/);
    });

    test('an upload killed before it commits: the re-run sends none of the blobs stored, and makes one snapshot of all', async () => {
      const dir = join(work, 'many');
      await mkdir(dir);
      for (let i = 0; i < 2000; i += 1)
        await writeFile(join(dir, `m${String(i).padStart(4, '0')}.bin`), randomBytes(30_000));
      const args = ['upload', dir, '--to', `${user}/resume`, '--json'];
      const first = spawnCli(args, env);
      const journal = join(env.DREAMLAKE_HOME as string, 'commits');
      const noted = async () => {
        let n = 0;
        for (const name of await readdir(journal).catch(() => [] as string[]))
          n += (await readFile(join(journal, name), 'utf8')).split('\n').filter((l) => l.includes('"hash"')).length;
        return n;
      };
      await waitFor('100 blobs noted as stored', async () => (await noted()) >= 100, 60_000, 5);
      first.kill('SIGKILL');
      const killed = await first.result;
      assert.equal(killed.signal, 'SIGKILL', 'killed before it committed');
      const stored = await noted();
      assert.equal((JSON.parse((await cli('log', `${user}/resume`, '--json')).stdout) as unknown[]).length, 0);

      const again = await cli(...args);
      assert.equal(again.code, 0, again.stderr);
      const lines = jsonLines<UploadLine & { event?: string }>(again.stdout).filter((l) => l.event === undefined);
      assert.equal(lines.length, 2000);
      const sent = lines.filter((l) => !l.skipped).length;
      assert.ok(sent <= 2000 - stored, `${sent} files sent again, ${stored} were noted as stored`);
      const log = JSON.parse((await cli('log', `${user}/resume`, '--json')).stdout) as Snapshot[];
      assert.deepEqual(
        log.map((s) => [s.version, s.files]),
        [[1, 2000]],
      );
      const check = await cli('verify', `${user}/resume@1/many/`, dir);
      assert.equal(check.code, 0, check.stdout + check.stderr);
      assert.deepEqual(await readdir(journal), [], 'the notes are gone once committed');
    });
  });
}

reportS3Skipped('versioned spaces');
