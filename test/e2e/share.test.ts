/**
 * Share links through the real `dreamlake` bin against the real server and BSS: `share`,
 * `share ls`, `share revoke`, and `download LINK -o DIR` from a shell with no account. On the
 * disk backend with SQLite, on S3 (DREAMLAKE_TEST_S3_ENV) and on PostgreSQL (DREAMLAKE_TEST_PG_URL).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DreamLakeClient } from '../../packages/cli/src/client.ts';
import { createTestDatabase, type TestDatabase } from '../../packages/server/test/helpers/engines.ts';
import {
  type Backend,
  backends,
  cliEnv,
  jsonLines,
  MIB,
  makeFile,
  reportS3Skipped,
  runCli,
  Services,
  sha256File,
  signedUpUser,
  spawnCli,
  tempDir,
  waitFor,
} from './harness.ts';

interface MadeLink {
  id: string;
  url: string;
  version: number | null;
  prefix: string;
  expiresAt: string;
}
interface Listed {
  id: string;
  uses: number;
  downloads: number;
  lastUsedAt: string | null;
}

/** `count` small files of their own bytes under `dir`; `sub/` holds the last `inSub`. Answers name → bytes. */
async function makeFolder(dir: string, count: number, inSub: number): Promise<Map<string, Buffer>> {
  await mkdir(join(dir, 'sub'), { recursive: true });
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i += 1) {
    const name = i >= count - inSub ? `sub/s${String(i).padStart(4, '0')}.bin` : `f${String(i).padStart(4, '0')}.bin`;
    const bytes = Buffer.concat([Buffer.from(`${name}\n`), randomBytes(100 + (i % 50) * 30)]);
    await writeFile(join(dir, name), bytes);
    files.set(name, bytes);
  }
  return files;
}

/** Every file under `dir`, by its `/`-separated path relative to it. */
async function filesUnder(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(relative(dir, path).split('\\').join('/'), await readFile(path));
  }
  return out;
}

function assertSameFiles(got: Map<string, Buffer>, want: Map<string, Buffer>): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [name, bytes] of want) assert.ok(got.get(name)?.equals(bytes), `${name} has the shared bytes`);
}

const configurations: Array<{ title: string; backend: Backend; engine: 'sqlite' | 'postgres' }> = [
  ...backends().map((backend) => ({ title: `${backend.name} backend, SQLite`, backend, engine: 'sqlite' as const })),
  { title: 'fs backend, PostgreSQL', backend: backends()[0] as Backend, engine: 'postgres' },
];

for (const { title, backend, engine } of configurations) {
  describe(`share links (${title})`, () => {
    let services: Services;
    let database: TestDatabase | undefined;
    let work: string;
    let env: Record<string, string>;
    /** A shell with no account and no saved server: only the link. */
    let stranger: Record<string, string>;
    let user: string;
    let space: string;
    let v1: Map<string, Buffer>;
    const cli = (...args: string[]) => runCli(args, env);

    before(async () => {
      work = await tempDir('dreamlake-share-');
      if (engine === 'postgres') database = await createTestDatabase('postgres');
      services = await Services.start({ backend, ...(database ? { databaseUrl: database.url } : {}) });
      ({ env, user } = await signedUpUser(services.serverUrl, join(work, 'home'), 'sh'));
      stranger = cliEnv(join(work, 'stranger-home'));
      space = `${user}/ds`;
      v1 = await makeFolder(join(work, 'data'), 300, 60);
      const up = await cli('upload', join(work, 'data'), '--to', space);
      assert.equal(up.code, 0, up.stderr + services.logs());
    });
    after(async () => {
      await services?.close();
      await database?.drop();
      if (work) await rm(work, { recursive: true, force: true, maxRetries: 5 });
    });

    const share = async (...args: string[]) => {
      const made = await cli('share', ...args, '--json');
      assert.equal(made.code, 0, made.stderr);
      return JSON.parse(made.stdout) as MadeLink;
    };
    const listed = async (id: string) => {
      const ls = await cli('share', 'ls', user, '--json');
      assert.equal(ls.code, 0, ls.stderr);
      return (JSON.parse(ls.stdout) as Listed[]).find((s) => s.id === id);
    };

    test('a link pinned to @1 downloads exactly version 1 of 300 files, verified, after head moved; an unpinned one downloads head', async () => {
      const pinned = await share(`${space}@1`);
      assert.equal(pinned.version, 1);
      assert.match(pinned.url, new RegExp(`^${services.serverUrl}/s/dls_`));
      const text = await cli('share', space, '--expires', '12h');
      assert.equal(text.code, 0, text.stderr);
      const headUrl = text.stdout.split('\n')[0] as string;
      assert.match(text.stdout, /head at each use/);

      // Version 2: ten files changed.
      await rm(join(work, 'data-v2'), { recursive: true, force: true });
      const v2 = new Map(v1);
      for (const name of [...v1.keys()].slice(0, 10)) {
        const bytes = Buffer.from(`changed ${name}\n`);
        v2.set(name, bytes);
        await writeFile(join(work, 'data', name), bytes);
      }
      const up = await cli('upload', join(work, 'data'), '--to', space);
      assert.equal(up.code, 0, up.stderr);

      const into = join(work, 'pinned-copy');
      const down = await runCli(['download', pinned.url, '-o', into, '--json'], stranger);
      assert.equal(down.code, 0, down.stderr + services.logs());
      const lines = jsonLines<{ name: string; hash: string; skipped: boolean }>(down.stdout);
      assert.equal(lines.length, 300);
      const got = await filesUnder(join(into, 'data'));
      assertSameFiles(got, v1);

      // Run again: everything is there already, with the right SHA-256.
      const again = await runCli(['download', pinned.url, '-o', into, '--json'], stranger);
      assert.equal(again.code, 0, again.stderr);
      assert.ok(jsonLines<{ skipped: boolean }>(again.stdout).every((l) => l.skipped));

      const headCopy = join(work, 'head-copy');
      const head = await runCli(['download', headUrl, '-o', headCopy], stranger);
      assert.equal(head.code, 0, head.stderr);
      assertSameFiles(await filesUnder(join(headCopy, 'data')), v2);

      const counted = await listed(pinned.id);
      assert.ok(counted, 'share ls lists the link');
      assert.equal(counted.downloads, 300, 'each file granted once; the second run fetched nothing');
      assert.ok(counted.uses >= 3);
      assert.ok(counted.lastUsedAt);
      const table = await cli('share', 'ls');
      assert.match(
        table.stdout,
        new RegExp(`${pinned.id}\\s+${space}@1\\s+until \\S+\\s+\\d+ uses\\s+300 downloads\\s+last `),
      );
    });

    test('a link to a folder of @1 brings down only that folder, at paths below it', async () => {
      const sub = await share(`${space}@1/data/sub`);
      assert.equal(sub.prefix, 'data/sub/', 'the folder, without its `/` typed, is data/sub/ alone');
      const into = join(work, 'sub-copy');
      const down = await runCli(['download', sub.url, '-o', into], stranger);
      assert.equal(down.code, 0, down.stderr);
      const want = new Map([...v1].filter(([n]) => n.startsWith('sub/')).map(([n, b]) => [n.slice('sub/'.length), b]));
      assert.equal(want.size, 60);
      assertSameFiles(await filesUnder(into), want);
    });

    test('revoking stops new downloads at once (410 gone); a URL minted before still works until its expiry', async () => {
      const link = await share(`${space}@1`, '--expires', '1d');
      const secretPath = new URL(link.url).pathname;
      const minted = await fetch(`${services.serverUrl}${secretPath}/downloads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ files: [{ name: 'data/f0100.bin' }] }),
      });
      assert.equal(minted.status, 200);
      const [grant] = (await minted.json()).files as Array<{ url: string; expiresAt: string }>;

      const revoked = await cli('share', 'revoke', link.id);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stdout, new RegExp(`revoked share link ${link.id}`));
      const refused = await runCli(['download', link.url, '-o', join(work, 'never')], stranger);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /gone: this share link was revoked \(HTTP 410\)/);
      const info = await fetch(`${services.serverUrl}${secretPath}/info`);
      assert.equal(info.status, 410);

      const bytes = await fetch(grant!.url);
      assert.equal(bytes.status, 200, 'a URL minted before the revocation runs until its own expiry');
      assert.ok(Buffer.from(await bytes.arrayBuffer()).equals(v1.get('f0100.bin')!));
      assert.ok(Date.parse(grant!.expiresAt) - Date.now() <= 3600_000, 'at most PRESIGN_TTL_SECONDS from minting');
      assert.equal(await listed(link.id), undefined, 'a revoked link is no longer listed');
    });

    test('a forged or truncated link is refused without a hint; --expires above the maximum is exit 2 naming it', async () => {
      const link = await share(space);
      for (const bad of [link.url.slice(0, -3), `${services.serverUrl}/s/dls_${'x'.repeat(43)}`]) {
        const r = await runCli(['download', bad, '-o', join(work, 'never')], stranger);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /not_found: no such share link \(HTTP 404\)/);
      }
      const tooLong = await cli('share', space, '--expires', '31d');
      assert.equal(tooLong.code, 2);
      assert.match(tooLong.stderr, /at most 30d \(2592000 s\)/);
      const malformed = await cli('share', space, '--expires', 'soon');
      assert.equal(malformed.code, 2);
      const notALink = await runCli(['download', 'https://example.test/nothing', '-o', join(work, 'never')], stranger);
      assert.equal(notALink.code, 2);
    });

    test('a download through a link, interrupted, resumes where it stopped and verifies the whole', async () => {
      const source = join(work, 'big.bin');
      await makeFile(source, 256 * MIB, 7);
      const hash = await sha256File(source);
      const up = await cli('upload', source, '--to', `${user}/big`);
      assert.equal(up.code, 0, up.stderr);
      const link = await share(`${user}/big@1`);
      const out = join(work, 'big-copy');
      const state = join(out, `big.bin.${hash.slice(0, 12)}.partial.json`);
      const first = spawnCli(['download', link.url, '-o', out, '--json'], stranger);
      await waitFor(
        'two ranges written',
        async () => (JSON.parse(await readFile(state, 'utf8')) as { done: number[] }).done.length >= 2,
        60_000,
        5,
      );
      first.kill('SIGINT');
      assert.equal((await first.result).code, 130);
      const again = await runCli(['download', link.url, '-o', out, '--json'], stranger);
      assert.equal(again.code, 0, again.stderr);
      const [line] = jsonLines<{ hash: string; resumedBytes: number }>(again.stdout);
      assert.equal(line?.hash, hash);
      assert.ok((line?.resumedBytes ?? 0) >= 16 * MIB, `resumed after ${line?.resumedBytes} bytes`);
      assert.equal(await sha256File(join(out, 'big.bin')), hash);
    });

    test('the library: share, shares, revokeShare and downloadLink', async () => {
      const token = JSON.parse(await readFile(join(env.DREAMLAKE_HOME as string, 'config.json'), 'utf8')).token;
      const client = new DreamLakeClient({ server: services.serverUrl, token, home: join(work, 'lib-home') });
      try {
        const link = await client.share(`${space}@1/data/sub/`, { expiresInSeconds: 600 });
        assert.equal(link.version, 1);
        const summary = await client.downloadLink(link.url, { to: join(work, 'lib-copy') });
        assert.deepEqual(summary, { downloaded: 60, skipped: 0, failed: 0 });
        assert.ok((await client.shares(user)).some((s) => s.id === link.id && s.downloads === 60));
        await client.revokeShare(link.id);
        assert.ok(!(await client.shares(user)).some((s) => s.id === link.id));
      } finally {
        await client.close();
      }
    });
  });
}

reportS3Skipped('share links');
