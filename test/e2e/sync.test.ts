/**
 * `dreamlake sync` (and the filters, dry runs, prefixes and bandwidth limit it shares with
 * `upload`) through the real bin against the real server and BSS: a folder of several hundred
 * files synced, changed and synced again as exactly one snapshot of exactly those changes; a dry
 * run and a refused --max-delete send nothing that writes; the filters on both sides; a sync
 * killed mid-way finished by a re-run without sending a stored blob again. On the disk backend
 * with SQLite, on S3 (DREAMLAKE_TEST_S3_ENV) and on PostgreSQL (DREAMLAKE_TEST_PG_URL).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { appendFile, mkdir, readdir, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DreamLakeClient } from '../../packages/cli/src/client.ts';
import { createTestDatabase, type TestDatabase } from '../../packages/server/test/helpers/engines.ts';
import {
  type Backend,
  backends,
  CLI_BIN,
  jsonLines,
  MIB,
  makeFile,
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
  files: number;
  counts: { added: number; changed: number; removed: number };
}
interface Line {
  event?: string;
  action?: string;
  name?: string;
  reason?: string;
  created?: boolean;
  snapshot?: Snapshot;
  skipped?: boolean;
}

/**
 * A pass-through to the server that notes every request's method and path: what a run asked of
 * the server, to show that a dry run wrote nothing.
 */
class RecordingProxy {
  readonly seen: string[] = [];
  #server: Server | undefined;
  url = '';

  async start(target: string): Promise<void> {
    const to = new URL(target);
    this.#server = createServer((req, res) => {
      this.seen.push(`${req.method} ${req.url}`);
      const out = request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      req.pipe(out);
    });
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((done) => this.#server?.close(done));
  }
}

const file = (i: number) =>
  i % 5 === 4 ? `sub/d${i % 3}/f${String(i).padStart(4, '0')}.txt` : `f${String(i).padStart(4, '0')}.txt`;

/** `count` small files of their own bytes, some in subfolders, and what a user's folder also holds. */
async function makeFolder(dir: string, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const name = file(i);
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), Buffer.concat([Buffer.from(`${name}\n`), randomBytes(100 + (i % 40) * 30)]));
    names.push(name);
  }
  // Left out by the default list, and by the folder's .dreamlakeignore.
  await mkdir(join(dir, '.git'), { recursive: true });
  await writeFile(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  await writeFile(join(dir, '.DS_Store'), 'junk');
  await writeFile(join(dir, '.dreamlakeignore'), '# scratch files\n*.tmp\ncache/\n');
  await writeFile(join(dir, 'scratch.tmp'), 'scratch');
  await mkdir(join(dir, 'cache'));
  await writeFile(join(dir, 'cache', 'c.bin'), 'cached');
  return names.sort();
}

const configurations: Array<{ title: string; backend: Backend; engine: 'sqlite' | 'postgres' }> = [
  ...backends().map((backend) => ({ title: `${backend.name} backend, SQLite`, backend, engine: 'sqlite' as const })),
  { title: 'fs backend, PostgreSQL', backend: backends()[0] as Backend, engine: 'postgres' },
];

for (const { title, backend, engine } of configurations) {
  describe(`dreamlake sync (${title})`, () => {
    let services: Services;
    let database: TestDatabase | undefined;
    let proxy: RecordingProxy;
    let work: string;
    let env: Record<string, string>;
    /** The user's shell with the server behind the recording proxy. */
    let viaProxy: Record<string, string>;
    let user: string;
    let space: string;
    let names: string[];
    let dir: string;
    const cli = (...args: string[]) => runCli(args, env);
    const log = async (where = space): Promise<Snapshot[]> =>
      JSON.parse((await cli('log', where, '--json')).stdout) as Snapshot[];
    const listed = async (where: string): Promise<string[]> =>
      (JSON.parse((await cli('ls', where, '--json')).stdout) as Array<{ name: string }>).map((f) => f.name);

    before(async () => {
      work = await tempDir('dreamlake-sync-');
      if (engine === 'postgres') database = await createTestDatabase('postgres');
      services = await Services.start({ backend, ...(database ? { databaseUrl: database.url } : {}) });
      proxy = new RecordingProxy();
      await proxy.start(services.serverUrl);
      ({ env, user } = await signedUpUser(services.serverUrl, join(work, 'home'), 'sy'));
      const saved = JSON.parse(await readFile(join(work, 'home', 'config.json'), 'utf8')) as { token: string };
      viaProxy = { ...env, DREAMLAKE_TOKEN: saved.token, DREAMLAKE_SERVER: proxy.url };
      space = `${user}/ds`;
      dir = join(work, 'run42');
      names = await makeFolder(dir, 400);
    });
    after(async () => {
      await proxy?.close();
      await services?.close();
      await database?.drop();
      if (work) await rm(work, { recursive: true, force: true, maxRetries: 5 });
    });

    test('a 400-file folder synced under a prefix is one snapshot of its contents, less what the ignore rules leave out', async () => {
      const r = await cli('sync', dir, `${space}/data`, '--json', '-m', 'first');
      assert.equal(r.code, 0, r.stderr + services.logs());
      const lines = jsonLines<Line>(r.stdout);
      const plan = lines.find((l) => l.event === 'plan') as Record<string, unknown>;
      assert.deepEqual([plan.upload, plan.unchanged, plan.delete, plan.ignored], [400, 0, 0, 4]);
      assert.equal(lines.filter((l) => l.action === 'upload').length, 400);
      const made = lines.at(-1) as Line;
      assert.equal(made.event, 'snapshot');
      assert.deepEqual([made.snapshot?.version, made.snapshot?.files], [1, 400]);
      assert.deepEqual(
        await listed(`${space}/data/`),
        names.map((n) => `data/${n}`),
      );
    });

    test('upload --to NS/SPACE/PREFIX/ puts the names under that folder', async () => {
      const keep = join(work, 'keep.log');
      await writeFile(keep, 'kept by the filters\n');
      const r = await cli('upload', keep, '--to', `${space}/data/logs/`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^${space}@2: snapshot 2 made, \\+1 ~0 -0, 401 files`, 'm'));
      assert.deepEqual(await listed(`${space}/data/logs/`), ['data/logs/keep.log']);
      const bad = await cli('upload', keep, '--to', `${space}/data/../x/`);
      assert.equal(bad.code, 2);
      assert.match(
        bad.stderr,
        /the folder "data\/\.\.\/x" is not a valid name: a name must not have an empty, "\." or "\.\." segment/,
      );
    });

    test('changed, deleted, added and ignored files: a dry run sends nothing; the sync with --delete is exactly one snapshot of exactly those changes', async () => {
      // 10 modified (5 of the same size, 5 of another), 15 deleted, 12 added, and some ignored.
      const modified = names.slice(0, 10);
      const deleted = names.slice(100, 115);
      for (const [i, name] of modified.entries()) {
        const path = join(dir, name);
        const bytes = await readFile(path);
        if (i < 5) bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
        await writeFile(path, i < 5 ? bytes : Buffer.concat([bytes, Buffer.from('more')]));
      }
      for (const name of deleted) await unlink(join(dir, name));
      const added = Array.from({ length: 12 }, (_, i) => `new/n${i}.txt`);
      await mkdir(join(dir, 'new'));
      for (const name of added) await writeFile(join(dir, name), `${name} ${randomBytes(8).toString('hex')}`);
      await writeFile(join(dir, 'new', 'more.tmp'), 'ignored by .dreamlakeignore');
      await writeFile(join(dir, 'new', '.DS_Store'), 'ignored by default');

      const before = proxy.seen.length;
      const dry = await runCli(
        ['sync', dir, `${space}/data`, '--delete', '--exclude', 'logs/', '--dry-run', '--json'],
        viaProxy,
      );
      assert.equal(dry.code, 0, dry.stderr);
      const asked = proxy.seen.slice(before);
      assert.ok(asked.length > 0, 'the dry run read the space through the proxy');
      assert.deepEqual(
        asked.filter((r) => !r.startsWith('GET ')),
        [],
        'a dry run sends no upload, grant, lookup or commit request',
      );
      const lines = jsonLines<Line>(dry.stdout);
      const of = (action: string) =>
        lines
          .filter((l) => l.action === action)
          .map((l) => l.name)
          .sort();
      assert.deepEqual(of('upload'), [...added, ...modified].map((n) => `data/${n}`).sort());
      assert.deepEqual(of('delete'), deleted.map((n) => `data/${n}`).sort());
      assert.equal(of('skip').length, 400 - 10 - 15);
      const plan = lines.find((l) => l.event === 'plan') as Record<string, unknown>;
      assert.deepEqual(
        [plan.dryRun, plan.added, plan.changed, plan.delete, plan.kept],
        [true, 12, 10, 15, 1],
        'data/logs/keep.log is left out by --exclude: kept, not deleted',
      );
      assert.equal((await log()).length, 2, 'the dry run made no snapshot');

      const text = await cli('sync', dir, `${space}/data`, '--delete', '--exclude', 'logs/', '--dry-run');
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^upload {2}data\/new\/n0\.txt {2}\(new, /m);
      assert.ok(text.stdout.split('\n').includes(`delete  data/${deleted[0]}`), text.stdout);
      assert.match(
        text.stdout,
        /^dry run: would upload 22 files \(.*: 12 new, 10 changed\), 375 unchanged, would delete 15, 1 only in the space kept, \d+ ignored; nothing was sent or committed$/m,
      );

      const real = await cli('sync', dir, `${space}/data`, '--delete', '--exclude', 'logs/', '-m', 'second');
      assert.equal(real.code, 0, real.stderr);
      assert.match(real.stdout, new RegExp(`^${space}@3: snapshot 3 made, \\+12 ~10 -15, 398 files`, 'm'));
      const snapshots = await log();
      assert.deepEqual(
        snapshots.map((s) => s.version),
        [3, 2, 1],
        'exactly one new snapshot',
      );
      const diff = JSON.parse((await cli('diff', `${space}@2`, `${space}@3`, '--json')).stdout) as {
        changes: Array<{ name: string; change: string }>;
      };
      const expected = [
        ...added.map((n) => ['added', `data/${n}`]),
        ...modified.map((n) => ['changed', `data/${n}`]),
        ...deleted.map((n) => ['removed', `data/${n}`]),
      ].sort((a, b) => ((a[1] as string) < (b[1] as string) ? -1 : 1));
      assert.deepEqual(
        diff.changes.map((c) => [c.change, c.name]),
        expected,
      );
      const check = await cli('verify', `${space}/data/`, dir);
      // The folder holds the ignored files as extras; every name of the space is there and the same.
      const report = JSON.parse((await cli('verify', `${space}/data/`, dir, '--json')).stdout) as Record<
        string,
        unknown
      >;
      assert.deepEqual([report.missing, report.changed], [['logs/keep.log'], []], check.stdout);

      const again = await cli('sync', dir, `${space}/data`, '--delete', '--exclude', 'logs/');
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`^${space}@3: nothing changed, head stays version 3`, 'm'));
      assert.match(
        again.stdout,
        /^upload 0 files \(0 B: 0 new, 0 changed\), 397 unchanged, delete 0, 1 only in the space kept/m,
      );
      assert.equal((await log()).length, 3);
    });

    test('--max-delete: a sync deleting more is refused with exit 3 and the count, nothing sent or committed', async () => {
      const gone = names.slice(200, 230);
      for (const name of gone) await unlink(join(dir, name));
      await writeFile(join(dir, 'another.txt'), 'would be uploaded');
      const before = proxy.seen.length;
      const r = await runCli(
        ['sync', dir, `${space}/data`, '--delete', '--exclude', 'logs/', '--max-delete', '10'],
        viaProxy,
      );
      assert.equal(r.code, 3, r.stderr);
      assert.match(
        r.stderr,
        /the sync would delete 30 names, more than --max-delete 10: nothing was sent or committed/,
      );
      assert.deepEqual(
        proxy.seen.slice(before).filter((req) => !req.startsWith('GET ')),
        [],
      );
      assert.equal((await log()).length, 3);
      const ok = await cli('sync', dir, `${space}/data`, '--delete', '--exclude', 'logs/', '--max-delete', '30');
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /snapshot 4 made, \+1 ~0 -30/);
    });

    test('--delete-excluded removes the names the filters leave out too', async () => {
      const r = await cli('sync', dir, `${space}/data`, '--delete-excluded', '--exclude', 'logs/', '--json');
      assert.equal(r.code, 0, r.stderr);
      const lines = jsonLines<Line>(r.stdout);
      assert.deepEqual(
        lines.filter((l) => l.action === 'delete').map((l) => l.name),
        ['data/logs/keep.log'],
      );
      assert.deepEqual((lines.at(-1) as Line).snapshot?.counts, { added: 0, changed: 0, removed: 1 });
    });

    test('--exclude/--include in order (last match wins) on sync and upload; .dreamlakeignore negation; --no-default-ignores', async () => {
      const mixed = join(work, 'mixed');
      await mkdir(join(mixed, 'a', 'b'), { recursive: true });
      for (const name of ['x.csv', 'x.txt', 'a/y.csv', 'a/y.bin', 'a/b/z.csv', 'a/b/z.txt', '.DS_Store'])
        await writeFile(join(mixed, name), name);
      const only = await cli('sync', mixed, `${user}/csv`, '--exclude', '**', '--include', '*.csv', '--json');
      assert.equal(only.code, 0, only.stderr);
      assert.deepEqual(await listed(`${user}/csv`), ['a/b/z.csv', 'a/y.csv', 'x.csv']);

      const up = await cli(
        'upload',
        mixed,
        '--to',
        `${user}/up/`,
        '--exclude',
        'a/',
        '--include',
        'a/',
        '--exclude',
        '*.txt',
      );
      assert.equal(up.code, 0, up.stderr);
      assert.deepEqual(await listed(`${user}/up`), [
        'mixed/a/b/z.csv',
        'mixed/a/y.bin',
        'mixed/a/y.csv',
        'mixed/x.csv',
      ]);

      await writeFile(join(mixed, '.dreamlakeignore'), '*.txt\n!a/b/z.txt\n');
      const all = await cli('sync', mixed, `${user}/all`, '--no-default-ignores');
      assert.equal(all.code, 0, all.stderr);
      assert.deepEqual(await listed(`${user}/all`), [
        '.DS_Store',
        'a/b/z.csv',
        'a/b/z.txt',
        'a/y.bin',
        'a/y.csv',
        'x.csv',
      ]);

      const before = proxy.seen.length;
      const dryUpload = await runCli(['upload', mixed, '--to', `${user}/all/`, '--dry-run', '--json'], viaProxy);
      assert.equal(dryUpload.code, 0, dryUpload.stderr);
      assert.deepEqual(
        proxy.seen.slice(before).filter((r) => !r.startsWith('GET ') && !/\/files\/lookup$/.test(r)),
        [],
        'an upload --dry-run asks which files the space holds, and nothing else',
      );
      const planned = jsonLines<Line>(dryUpload.stdout);
      assert.equal(
        planned.filter((l) => l.action === 'upload').length,
        5,
        'new names (their bytes stored: nothing to send)',
      );
      assert.equal((planned.at(-1) as Record<string, unknown>).ignored, 2);
    });

    test('a sync --dry-run --json read by `head -0` ends quietly with 141, as a closed pipe ends ls', async () => {
      const child = spawn(process.execPath, [CLI_BIN, 'sync', dir, `${space}/data`, '--dry-run', '--json'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
      const [code] = (await once(child, 'close')) as [number | null];
      assert.equal(stderr, '', 'nothing on stderr, no stack trace');
      assert.equal(code, 141);
    });

    test('the library: syncPlan sends nothing; sync makes one snapshot with the same options; maxDelete rejects with exit code 3', async () => {
      const folder = join(work, 'lib');
      await mkdir(join(folder, 'd'), { recursive: true });
      for (let i = 0; i < 300; i += 1) await writeFile(join(folder, 'd', `x${i}.csv`), `row ${i}\n`);
      await writeFile(join(folder, 'skip.tmp'), 'left out');
      const client = new DreamLakeClient({
        server: services.serverUrl,
        token: viaProxy.DREAMLAKE_TOKEN as string,
        home: env.DREAMLAKE_HOME as string,
      });
      try {
        const rules = [{ kind: 'exclude' as const, pattern: '*.tmp' }];
        const plan = await client.syncPlan(folder, `${user}/lib/in`, { rules });
        assert.deepEqual([plan.uploads.length, plan.deletes.length, plan.ignored, plan.head], [300, 0, 1, 0]);
        const none = await cli('log', `${user}/lib`, '--json');
        assert.ok(none.code !== 0 || (JSON.parse(none.stdout) as unknown[]).length === 0, 'a plan makes no snapshot');
        const first = await client.sync(folder, `${user}/lib/in`, { rules, message: 'lib' });
        assert.deepEqual([first.commit?.snapshot?.version, first.commit?.snapshot?.files, first.failed], [1, 300, []]);
        for (let i = 0; i < 50; i += 1) await unlink(join(folder, 'd', `x${i}.csv`));
        await assert.rejects(
          client.sync(folder, `${user}/lib/in`, { rules, delete: true, maxDelete: 49 }),
          (error: Error & { exitCode?: number }) => error.exitCode === 3 && /delete 50 names/.test(error.message),
        );
        const second = await client.sync(folder, `${user}/lib/in`, { rules, delete: true, maxDelete: 50 });
        assert.deepEqual(second.commit?.snapshot?.counts, { added: 0, changed: 0, removed: 50 });
      } finally {
        await client.close();
      }
    });

    test('symbolic links: not followed by default, said once, and their names in the space kept by --delete; --follow-symlinks follows them and tells a loop', async () => {
      const linked = join(work, 'linked');
      const outside = join(work, 'outside');
      await mkdir(join(linked, 'sub'), { recursive: true });
      await mkdir(outside, { recursive: true });
      await writeFile(join(outside, 'secret.txt'), 'outside the folder');
      await writeFile(join(linked, 'a.txt'), 'a');
      await symlink(join(outside, 'secret.txt'), join(linked, 'secret.txt'));
      await symlink(outside, join(linked, 'out'));
      await symlink('..', join(linked, 'sub', 'up'));
      const followed = await cli('sync', linked, `${user}/links`, '--follow-symlinks');
      assert.equal(followed.code, 0, followed.stderr);
      assert.match(followed.stderr, /skipped sub\/up: a link to a folder it is inside \(a loop\), not walked again/);
      assert.deepEqual(await listed(`${user}/links`), ['a.txt', 'out/secret.txt', 'secret.txt']);

      const plain = await cli('sync', linked, `${user}/links`, '--delete');
      assert.equal(plain.code, 0, plain.stderr);
      assert.equal(
        plain.stderr.match(/symbolic links inside folders are not followed; --follow-symlinks follows them/g)?.length,
        1,
      );
      assert.match(plain.stderr, /skipped secret\.txt: a symbolic link \(to .*secret\.txt\), not followed/);
      assert.match(plain.stdout, /nothing changed/, 'the names of links not followed stay under --delete');
      assert.deepEqual(await listed(`${user}/links`), ['a.txt', 'out/secret.txt', 'secret.txt']);
    });

    test('bad input: a missing DIR, a file, a PREFIX that is no name, a bad glob or ignore line: exit 2 naming it', async () => {
      const versions = (await log()).length;
      const missing = await cli('sync', join(work, 'nope'), space);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /nope: no such folder/);
      const aFile = await cli('sync', join(dir, 'f0001.txt'), space);
      assert.equal(aFile.code, 2);
      assert.match(aFile.stderr, /f0001\.txt: not a folder/);
      const prefix = await cli('sync', dir, `${space}/a//b`);
      assert.equal(prefix.code, 2);
      assert.match(prefix.stderr, /is not a valid name: a name must not have an empty, "\." or "\.\." segment/);
      const at = await cli('sync', dir, `${space}@2/data`);
      assert.equal(at.code, 2);
      const glob = await cli('sync', dir, space, '--exclude', '[abc');
      assert.equal(glob.code, 2);
      assert.match(glob.stderr, /--exclude "\[abc": not a valid pattern/);
      const bad = join(work, 'bad');
      await mkdir(join(bad, 'sub'), { recursive: true });
      await writeFile(join(bad, 'sub', '.dreamlakeignore'), '# fine\n*.tmp\n!\n');
      const line = await cli('sync', bad, space);
      assert.equal(line.code, 2);
      assert.match(line.stderr, /sub\/\.dreamlakeignore:3: a "!" with no pattern after it/);
      const max = await cli('sync', dir, space, '--max-delete', 'many');
      assert.equal(max.code, 2);
      assert.equal((await log()).length, versions, 'none of them wrote');
    });

    test('a sync killed mid-way leaves head untouched; the re-run sends none of the blobs stored and makes one snapshot', async () => {
      const big = join(work, 'big');
      await mkdir(big);
      for (let i = 0; i < 1500; i += 1)
        await writeFile(join(big, `m${String(i).padStart(4, '0')}.bin`), randomBytes(30_000));
      const args = ['sync', big, `${user}/resume/in`, '--json'];
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
      assert.equal((await first.result).signal, 'SIGKILL');
      const stored = await noted();
      assert.deepEqual(await log(`${user}/resume`), [], 'no snapshot: head untouched');

      const again = await cli(...args);
      assert.equal(again.code, 0, again.stderr);
      const results = jsonLines<UploadLine & Line>(again.stdout).filter((l) => l.event === 'uploaded');
      assert.equal(results.length, 1500);
      const sent = results.filter((l) => !l.skipped).length;
      assert.ok(sent <= 1500 - stored, `${sent} files sent again, ${stored} were noted as stored`);
      assert.deepEqual(
        (await log(`${user}/resume`)).map((s) => [s.version, s.files]),
        [[1, 1500]],
      );
      assert.equal((await cli('verify', `${user}/resume/in/`, big)).code, 0);
    });

    test('a sync that loses BSS mid-way fails after its retries with head untouched; once BSS is back, the re-run sends no stored blob again', async () => {
      const lost = join(work, 'lost');
      await mkdir(lost);
      for (let i = 0; i < 1200; i += 1)
        await writeFile(join(lost, `l${String(i).padStart(4, '0')}.bin`), randomBytes(30_000));
      const journal = join(env.DREAMLAKE_HOME as string, 'commits');
      const noted = async () => {
        let n = 0;
        for (const name of await readdir(journal).catch(() => [] as string[]))
          n += (await readFile(join(journal, name), 'utf8')).split('\n').filter((l) => l.includes('"hash"')).length;
        return n;
      };
      const args = ['sync', lost, `${user}/lost`, '--json'];
      const first = spawnCli(args, env);
      await waitFor('100 blobs noted as stored', async () => (await noted()) >= 100, 60_000, 5);
      await services.killBss();
      const failed = await first.result;
      await services.startBss();
      assert.equal(failed.code, 1, failed.stderr);
      assert.match(failed.stderr, /cannot reach/);
      const stored = await noted();
      const none = await cli('log', `${user}/lost`, '--json');
      assert.ok(none.code !== 0 || (JSON.parse(none.stdout) as unknown[]).length === 0, 'head untouched');

      const again = await cli(...args);
      assert.equal(again.code, 0, again.stderr);
      const results = jsonLines<UploadLine & Line>(again.stdout).filter((l) => l.event === 'uploaded');
      assert.equal(results.length, 1200);
      const sent = results.filter((l) => !l.skipped).length;
      assert.ok(sent <= 1200 - stored, `${sent} files sent again, ${stored} were noted as stored`);
      assert.deepEqual(
        (await log(`${user}/lost`)).map((s) => [s.version, s.files]),
        [[1, 1200]],
      );
    });

    test('--bwlimit holds an upload, a download and a download through a share link of 4 MiB at 2 MiB/s to at least 1.5 s', async () => {
      const limited = join(work, 'limited');
      await mkdir(limited);
      await makeFile(join(limited, 'four.bin'), 4 * MIB, 7);
      let started = Date.now();
      const up = await cli('sync', limited, `${user}/slow`, '--bwlimit', '2M');
      const upSeconds = (Date.now() - started) / 1000;
      assert.equal(up.code, 0, up.stderr);
      assert.ok(upSeconds >= 1.5, `4 MiB uploaded at 2 MiB/s in ${upSeconds}s`);
      started = Date.now();
      const down = await cli('download', `${user}/slow/four.bin`, '-o', join(work, 'four.bin'), '--bwlimit', '2M');
      const downSeconds = (Date.now() - started) / 1000;
      assert.equal(down.code, 0, down.stderr);
      assert.ok(downSeconds >= 1.5, `4 MiB downloaded at 2 MiB/s in ${downSeconds}s`);
      const link = JSON.parse((await cli('share', `${user}/slow`, '--json')).stdout) as { url: string };
      started = Date.now();
      const viaLink = await cli('download', link.url, '-o', join(work, 'via-link'), '--bwlimit', '2M');
      const linkSeconds = (Date.now() - started) / 1000;
      assert.equal(viaLink.code, 0, viaLink.stderr);
      assert.ok(linkSeconds >= 1.5, `4 MiB downloaded through a link at 2 MiB/s in ${linkSeconds}s`);
      const bad = await cli('sync', limited, `${user}/slow`, '--bwlimit', 'fast');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--bwlimit "fast": not a rate/);
    });

    test('a file written to while it is uploaded fails with its reason; the others are in the snapshot; exit 1; a re-run picks it up', async () => {
      const moving = join(work, 'moving');
      await mkdir(moving);
      await makeFile(join(moving, 'growing.bin'), 3 * MIB, 9);
      for (let i = 0; i < 20; i += 1) await writeFile(join(moving, `s${i}.txt`), `small ${i}`);
      const child = spawnCli(['sync', moving, `${user}/moving`, '--bwlimit', '1M'], env);
      let out = '';
      child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      await waitFor('the plan printed', async () => /would|upload \d+ files/.test(out), 30_000, 5);
      await new Promise((done) => setTimeout(done, 500));
      await appendFile(join(moving, 'growing.bin'), 'written while it was being uploaded');
      const r = await child.result;
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /growing\.bin: changed while being uploaded/);
      assert.match(r.stderr, /1 file changed while being uploaded and was left out of the snapshot: "growing\.bin"/);
      assert.match(r.stdout, /snapshot 1 made, \+20 ~0 -0, 20 files/);
      const again = await cli('sync', moving, `${user}/moving`);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /snapshot 2 made, \+1 ~0 -0, 21 files/);
    });
  });
}

reportS3Skipped('dreamlake sync');
