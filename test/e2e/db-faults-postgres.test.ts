/**
 * PostgreSQL restarted under a running upload: while it is down the server answers 503
 * `unavailable` with Retry-After (never 500, never a hang) and /readyz 503; it reconnects by itself
 * once PostgreSQL is back, and the CLI's upload, which met the outage, finishes with every file
 * listed under its hash. The server and BSS run as processes (built dist) over a PostgreSQL
 * cluster of the test's own, which it stops and starts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DreamLakeClient } from '../../packages/cli/src/index.ts';
import { PrivateCluster } from '../../packages/server/test/db-faults-cluster.ts';
import { waitFor } from '../../support/wait.ts';
import { backends, Services, sha256File, signupToken, tempDir, uniqueName } from './harness.ts';

const FILES = 640;
const FILE_BYTES = 64 * 1024;
/** Files done before PostgreSQL is stopped. */
const STOP_AFTER = 150;
/** Long enough for any answer; an answer that has not come by then hangs. */
const ANSWER_WITHIN_MS = 30_000;

/** The requests the test itself sends while the database is down. */
const PROBES = ['GET /readyz', 'GET /namespaces/:ns/spaces/:space/files'];

const fs = backends().find((b) => b.name === 'fs');
const skip = PrivateCluster.unavailable();

/** Requests the server answered with `status`, by method and route, from its /metrics. */
async function answered(serverUrl: string, status: number): Promise<Map<string, number>> {
  const text = await (await fetch(`${serverUrl}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^dreamlake_http_requests_total\{([^}]*)\} (\d+)/gm)) {
    const labels = match[1] ?? '';
    if (!labels.includes(`status="${status}"`)) continue;
    const key = `${/method="([^"]*)"/.exec(labels)?.[1]} ${/route="([^"]*)"/.exec(labels)?.[1]}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(match[2]));
  }
  return counts;
}

describe('PostgreSQL restarted while the CLI uploads', { skip }, () => {
  let cluster: PrivateCluster;
  let services: Services;
  let work: string;
  let token: string;
  const user = uniqueName('pgdown');

  before(async () => {
    cluster = await PrivateCluster.create();
    services = await Services.start({ backend: fs as NonNullable<typeof fs>, databaseUrl: cluster.url });
    token = await signupToken(services.serverUrl, user);
    work = await tempDir('dreamlake-db-faults-');
  });
  after(async () => {
    await services?.close();
    await cluster?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test(`${FILES} files: 503 unavailable while it is down, the upload finishes once it is back`, async (t) => {
    const folder = join(work, 'frames');
    await mkdir(folder, { recursive: true });
    for (let i = 0; i < FILES; i++)
      await writeFile(join(folder, `${String(i).padStart(4, '0')}.bin`), randomBytes(FILE_BYTES));

    const server = services.serverUrl;
    const listing = `${server}/namespaces/${user}/spaces/data/files`;
    const ask = (url: string) =>
      fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });

    let outage: Promise<void> | undefined;
    const restart = async () => {
      await cluster.stop();
      const ready = await ask(`${server}/readyz`);
      assert.equal(ready.status, 503, 'not ready while the database is down');
      const refused = await ask(listing);
      const body = (await refused.json()) as { error: { code: string; message: string } };
      assert.equal(refused.status, 503, JSON.stringify(body));
      assert.equal(body.error.code, 'unavailable');
      assert.match(body.error.message, /database is unreachable/);
      assert.equal(refused.headers.get('retry-after'), '2');
      // The upload goes on until it needs the server, which answers it 503 too: then it is restarted.
      await waitFor(
        'the server to answer the running upload 503',
        async () => [...(await answered(server, 503)).keys()].some((key) => !PROBES.includes(key)),
        60_000,
        50,
      );
      await cluster.start();
    };

    const client = new DreamLakeClient({ server, token, home: join(work, 'home') });
    let done = 0;
    let summary: Awaited<ReturnType<DreamLakeClient['upload']>>;
    try {
      summary = await client.upload(folder, {
        to: `${user}/data`,
        onFile: () => {
          done += 1;
          if (done !== STOP_AFTER) return;
          outage = restart();
          // Awaited once the upload ends; a failure meanwhile is not an unhandled rejection.
          outage.catch(() => {});
        },
      });
    } finally {
      await outage;
    }
    assert.ok(outage, `PostgreSQL was stopped after ${STOP_AFTER} files`);
    assert.deepEqual(summary.failed, []);
    assert.equal(summary.files, FILES);

    assert.equal((await ask(`${server}/readyz`)).status, 200, 'ready again');
    const listed = await client.list(`${user}/data`);
    const expected = new Map<string, string>();
    for (let i = 0; i < FILES; i++) {
      const name = `${String(i).padStart(4, '0')}.bin`;
      expected.set(`frames/${name}`, await sha256File(join(folder, name)));
    }
    assert.deepEqual(new Map(listed.map((f) => [f.name, f.hash])), expected, 'every file listed with its hash');
    assert.deepEqual(await answered(server, 500), new Map(), 'no request answered 500');
    t.diagnostic(`answered 503: ${JSON.stringify(Object.fromEntries(await answered(server, 503)))}`);
  });
});
