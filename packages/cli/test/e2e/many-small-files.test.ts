/**
 * Many small files at once through a small connection pool, against the real server and BSS on
 * every backend. A part PUT that has to wait for a connection must still send its whole body:
 * it once went out empty (Content-Length: 0), and BSS refused it with BadDigest.
 */

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, type Dispatcher } from 'undici';
import {
  backends,
  cliEnv,
  jsonLines,
  reportS3Skipped,
  runCli,
  Services,
  tempDir,
  uniqueName,
} from '../../../../test/e2e/harness.ts';
import { ServerApi } from '../../src/api.ts';
import { Budget } from '../../src/transfer/budget.ts';
import { eachLimited } from '../../src/transfer/pool.ts';
import { uploadFiles } from '../../src/upload/run.ts';
import { type FileResult, type UploadEvents, uploadFile } from '../../src/upload/uploader.ts';

const quiet: UploadEvents = { hashed() {}, sent() {}, resumed() {}, phase() {}, note() {} };

async function signup(serverUrl: string, username: string): Promise<string> {
  const res = await fetch(`${serverUrl}/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'correct horse battery staple' }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { token: string }).token;
}

for (const backend of backends()) {
  describe(`many small files at once (${backend.name} backend)`, () => {
    let services: Services;
    let work: string;
    let token: string;
    const user = uniqueName('mo');

    before(async () => {
      services = await Services.start({ backend });
      work = await tempDir('dreamlake-many-');
      token = await signup(services.serverUrl, user);
    });
    after(async () => {
      await services?.close();
      if (work) await rm(work, { recursive: true, force: true, maxRetries: 5 });
    });

    async function makeFolder(dir: string, count: number, seed: string) {
      await mkdir(dir, { recursive: true });
      const files = [];
      for (let i = 0; i < count; i += 1) {
        const data = Buffer.concat([Buffer.from(`${seed}:${i}:`), randomBytes(2_000 + ((i * 7919) % 30_000))]);
        const name = `${String(i).padStart(4, '0')}.jpg`;
        await writeFile(join(dir, name), data);
        files.push({
          path: join(dir, name),
          name: `frames/${name}`,
          size: data.length,
          sha256: createHash('sha256').update(data).digest('hex'),
        });
      }
      return files;
    }

    /** Requests by "METHOD /path" (query left out), counted as the client sends them. */
    function countingAgent(connections: number) {
      const agent = new Agent({ connections });
      const counts = new Map<string, number>();
      /** The request id each request carried, by "METHOD /path". */
      const ids = new Map<string, Array<string | undefined>>();
      const dispatcher = agent.compose((dispatch) => (options, handler) => {
        const path = String(options.path).split('?')[0] ?? '';
        const key = `${options.method} ${/\/uploads\/.*\/single-[0-9a-f]+$/.test(path) ? '(staged object in S3)' : path}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        const headers = (options.headers ?? {}) as Record<string, string | undefined>;
        ids.set(key, [...(ids.get(key) ?? []), headers['x-request-id']]);
        return dispatch(options, handler);
      });
      const total = () => [...counts.values()].reduce((a, b) => a + b, 0);
      return { agent, dispatcher, counts, ids, total };
    }

    async function runFolder(files: Awaited<ReturnType<typeof makeFolder>>, dispatcher: Dispatcher, home: string) {
      const results: FileResult[] = [];
      await uploadFiles(
        {
          api: new ServerApi(services.serverUrl, dispatcher, token),
          dispatcher,
          home,
          bss: undefined,
          concurrency: 4,
          budget: new Budget(64 * 1024 * 1024, 16),
          retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
          events: quiet,
        },
        files,
        { namespace: user, space: 'folder' },
        { begin() {}, end() {}, result: (index, result) => (results[index] = result) },
      );
      return results;
    }

    test('a folder of small files: one request per file and a few per batch, one commit; a re-run sends a lookup and an empty commit', async () => {
      const files = await makeFolder(join(work, 'folder'), 300, 'folder');
      const first = countingAgent(4);
      try {
        const results = await runFolder(files, first.dispatcher, join(work, 'home-folder'));
        assert.equal(results.length, files.length);
        for (const [i, file] of files.entries()) {
          assert.equal(results[i]?.hash, file.sha256);
          assert.equal(results[i]?.skipped, false);
        }
        const counts = Object.fromEntries(first.counts);
        const expected: Record<string, number> = {
          [`POST /namespaces/${user}/spaces/folder/files/lookup`]: 1,
          'POST /uploads/batch': 1,
          // Every name in one snapshot: one commit for the 300 files.
          [`POST /namespaces/${user}/spaces/folder/commits`]: 1,
          // One question to BSS about how it takes small files, then one PUT per file to BSS, on
          // either backend (on S3, BSS writes each verified body to the bucket itself).
          'POST /image/upload/single': 1,
          'PUT /image/upload/single': files.length,
        };
        assert.deepEqual(counts, expected);
        // Each file's requests to BSS carry a request id of their own, for following it in the logs.
        const singleIds = first.ids.get('PUT /image/upload/single');
        assert.ok(
          singleIds?.every((id) => typeof id === 'string' && id.length > 0),
          'every file request has an id',
        );
        assert.equal(new Set(singleIds).size, files.length, 'one id per file');
      } finally {
        await first.agent.close();
      }
      const listed = await fetch(`${services.serverUrl}/namespaces/${user}/spaces/folder/files`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const { files: indexed } = (await listed.json()) as {
        files: Array<{ name: string; hash: string; size: number }>;
      };
      assert.equal(indexed.length, files.length);
      for (const file of files) assert.equal(indexed.find((f) => f.name === file.name)?.hash, file.sha256, file.name);

      const again = countingAgent(4);
      try {
        const results = await runFolder(files, again.dispatcher, join(work, 'home-folder'));
        assert.ok(results.every((r) => r.skipped && r.partsSent === 0));
        assert.deepEqual(Object.fromEntries(again.counts), {
          [`POST /namespaces/${user}/spaces/folder/files/lookup`]: 1,
          [`POST /namespaces/${user}/spaces/folder/commits`]: 1,
        });
      } finally {
        await again.agent.close();
      }
    });

    test('the command prints one --json line per file, all of them, into a pipe; a re-run says every file is stored', async () => {
      const files = await makeFolder(join(work, 'cli', 'frames'), 1500, 'cli');
      const env = cliEnv(join(work, 'home-cli'), { DREAMLAKE_SERVER: services.serverUrl, DREAMLAKE_TOKEN: token });
      for (const rerun of [false, true]) {
        const up = await runCli(['upload', join(work, 'cli', 'frames'), '--to', `${user}/cli`, '--json'], env);
        assert.equal(up.code, 0, up.stderr);
        const all = jsonLines<{ name: string; hash: string; skipped: boolean; event?: string }>(up.stdout);
        const lines = all.filter((l) => l.event === undefined);
        assert.equal(lines.length, files.length);
        assert.deepEqual(
          lines.map((l) => l.name),
          files.map((f) => f.name),
          "in the files' order",
        );
        assert.deepEqual(
          lines.map((l) => l.hash),
          files.map((f) => f.sha256),
        );
        assert.ok(lines.every((l) => l.skipped === rerun));
        // Then the one snapshot the run made (1,500 names: a draft), or head left as it was.
        assert.deepEqual(
          all.filter((l) => l.event !== undefined).map((l) => l.event),
          ['snapshot'],
        );
        const made = all.at(-1) as unknown as { created: boolean; snapshot: { version: number; files: number } };
        assert.equal(made.created, !rerun);
        assert.equal(made.snapshot.version, 1);
        assert.equal(made.snapshot.files, files.length);
      }
    });

    test('every file arrives whole when requests wait for a connection, run after run', async () => {
      // One connection per origin: every request but one waits in the pool's queue.
      const agent = new Agent({ connections: 1 });
      try {
        for (let round = 0; round < 3; round += 1) {
          const dir = join(work, `round${round}`);
          await mkdir(dir, { recursive: true });
          const files = [];
          for (let i = 0; i < 24; i += 1) {
            const data = randomBytes(10_000 + i * 397);
            const path = join(dir, `${String(i).padStart(3, '0')}.jpg`);
            await writeFile(path, data);
            files.push({
              path,
              name: `round${round}/${String(i).padStart(3, '0')}.jpg`,
              size: data.length,
              sha256: createHash('sha256').update(data).digest('hex'),
            });
          }
          const deps = {
            api: new ServerApi(services.serverUrl, agent, token),
            dispatcher: agent,
            home: join(work, 'home'),
            bss: undefined,
            concurrency: 4,
            retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
            events: quiet,
          };
          const results: Array<{ name: string; hash: string }> = [];
          await eachLimited(files, 8, async (file) => {
            const result = await uploadFile(deps, file, { namespace: user, space: 'frames' });
            results.push({ name: result.name, hash: result.hash });
          });
          assert.equal(results.length, files.length);
          const listed = await fetch(`${services.serverUrl}/namespaces/${user}/spaces/frames/files`, {
            headers: { authorization: `Bearer ${token}` },
          });
          const { files: indexed } = (await listed.json()) as {
            files: Array<{ name: string; hash: string; size: number }>;
          };
          for (const file of files) {
            const entry = indexed.find((f) => f.name === file.name);
            assert.ok(entry, `${file.name} is in the index`);
            assert.equal(entry.hash, file.sha256);
            assert.equal(entry.size, file.size);
          }
        }
      } finally {
        await agent.close();
      }
    });
  });
}
reportS3Skipped('many small files at once');
