import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestBucket, type TestBucket } from '../../packages/bss/test/storage-s3-env.ts';
import { createTestDatabase, type TestDatabase } from '../../packages/server/test/helpers/engines.ts';
import { stopChild } from '../../support/process.ts';
import { GaveUp } from '../../support/wait.ts';
import {
  DEPLOY,
  DEPLOY_SKIP,
  deployS3,
  envFile,
  haproxyEnv,
  launch,
  METRICS_TOKEN,
  type Proc,
  siteSettings,
  start,
  unitCommand,
} from './deployment.ts';
import { cliEnv, freePort, makeFile, ROOT, runCli, sha256File, tempDir, uniqueName, waitFor } from './harness.ts';

/**
 * The deployment in deploy/ as an operator copies it: two servers on one PostgreSQL and two BSS
 * on one bucket, started from the systemd units' command lines with the env file templates, behind
 * HAProxy running deploy/haproxy/dreamlake.cfg.
 */

const skip = DEPLOY_SKIP;

const ok = async (url: string) => (await fetch(url)).status === 200;

const scrape = (base: string) => fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });

/**
 * One GET with the request target exactly as given (fetch would normalise `/./metrics` and the
 * like before sending): the status and the body.
 */
function rawGet(base: string, target: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`);
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), body: text });
    });
  });
}

/** Spellings of /metrics and /docs the services would route (they decode the path) or that look alike. */
const PRIVATE_PATHS = [
  '/metrics',
  '/%6Detrics',
  '/%6detrics',
  '/%6D%65%74%72%69%63%73',
  '/METRICS',
  '/Metrics',
  '//metrics',
  '/metrics/',
  '/metrics?x=1',
  '/metrics;x',
  '/metrics#x',
  '/./metrics',
  '/%2E/metrics',
  '/x/../metrics',
  '/x/%2E%2E/metrics',
  '/%6Detrics%ZZ',
  '/docs',
  '/%64ocs',
  '/DOCS/',
  '//docs/static/index.html',
];

/** One series of an instance's own /metrics, 0 when absent. */
async function metric(base: string, series: string): Promise<number> {
  const text = await (await scrape(base)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** How many requests for `route` an instance has answered, from its own /metrics. */
async function served(base: string, route: string): Promise<number> {
  const text = await (await scrape(base)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('dreamlake_http_requests_total{') && line.includes(`route="${route}"`)) {
      total += Number(line.split(' ').at(-1));
    }
  }
  return total;
}

describe('the deployment in deploy/: 2 servers and 2 BSS behind HAProxy', { skip }, () => {
  let database: TestDatabase;
  let bucket: TestBucket;
  let work: string;
  const procs: Proc[] = [];
  let api: string;
  let blobs: string;
  const servers: string[] = [];
  const bsses: string[] = [];

  before(async () => {
    database = await createTestDatabase('postgres');
    bucket = await createTestBucket(deployS3!);
    work = await tempDir('dreamlake-deploy-');
    const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()));
    const [apiPort, blobPort, ...instances] = ports as [number, number, ...number[]];
    api = `http://127.0.0.1:${apiPort}`;
    blobs = `http://127.0.0.1:${blobPort}`;
    const site = siteSettings({ databaseUrl: database.url, bucket, blobs, dataDir: work });
    for (const [kind, n, port] of [
      ['server', 1, instances[0]!],
      ['bss', 1, instances[1]!],
      ['server', 2, instances[2]!],
      ['bss', 2, instances[3]!],
    ] as const) {
      const instance = await launch(kind, `${kind}${n}`, port, site[kind]);
      procs.push(instance.proc);
      (kind === 'server' ? servers : bsses).push(instance.url);
    }
    procs.push(
      start('haproxy', 'haproxy', ['-db', '-f', join(DEPLOY, 'haproxy', 'dreamlake.cfg')], {
        ...haproxyEnv(apiPort, blobPort, servers, bsses),
      }),
    );
    try {
      for (const url of [...servers, ...bsses]) await waitFor(`${url}/readyz`, () => ok(`${url}/readyz`), 60_000, 100);
      // The balancer sends to an instance once its checks of /readyz pass: wait until each
      // instance of each pool has answered a request that came through it.
      for (const [front, pool] of [
        [api, servers],
        [blobs, bsses],
      ] as const) {
        await waitFor(
          `both instances behind ${front}`,
          async () => {
            const dead = procs.find((p) => p.child.exitCode !== null);
            if (dead) throw new GaveUp(`${dead.name} exited`);
            await Promise.all([1, 2, 3, 4].map(() => fetch(`${front}/healthz`)));
            const counts = await Promise.all(pool.map((url) => served(url, '/healthz')));
            return counts.every((n) => n > 0);
          },
          60_000,
          200,
        );
      }
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\n${procs.map((p) => `--- ${p.name}\n${p.output.join('')}`).join('\n')}`,
      );
    }
  });

  after(async () => {
    for (const proc of procs.reverse()) await stopChild(proc);
    if (work) await rm(work, { recursive: true, force: true });
    await bucket?.destroy();
    await database?.drop();
  });

  test('the balancer checks /readyz, names each request, and keeps /metrics to the instances', async () => {
    for (const url of [...servers, ...bsses]) assert.ok((await served(url, '/readyz')) > 0, `${url} was checked`);
    const named = await fetch(`${api}/healthz`, { headers: { 'x-request-id': 'deploy-check-1' } });
    assert.equal(named.headers.get('x-request-id'), 'deploy-check-1');
    const unnamed = await fetch(`${blobs}/healthz`);
    assert.match(unnamed.headers.get('x-request-id') ?? '', /^[0-9A-F]+(-[0-9A-F]+)+$/, 'HAProxy named it');
    for (const front of [api, blobs]) {
      const metrics = await fetch(`${front}/metrics`);
      assert.equal(metrics.status, 404);
      assert.equal(((await metrics.json()) as { error: { code: string } }).error.code, 'not_found');
    }
  });

  test('no spelling of /metrics or /docs reaches an instance through the balancer', async () => {
    for (const front of [api, blobs]) {
      for (const target of [...PRIVATE_PATHS, `${front}/metrics`, `${front}/%6Detrics`]) {
        const { status, body } = await rawGet(front, target);
        // 404 from the balancer's rule; HAProxy itself may refuse a target it finds malformed (400).
        assert.ok(status === 404 || status === 400, `${front} ${target}: ${body.slice(0, 300)}`);
        if (status === 404) assert.match(body, /"code":"not_found"/, `${front} ${target}`);
        assert.doesNotMatch(body, /process_cpu|dreamlake_http|swagger/i, `${front} ${target}`);
      }
      assert.equal((await rawGet(front, '/healthz')).status, 200);
    }
    // Short path segments are not dot segments: a signed-out listing reaches a server (401).
    assert.equal((await rawGet(api, '/namespaces/ab/spaces/x/files')).status, 401);
    // On an instance's own address, /metrics asks for the token the site set.
    for (const url of [...servers, ...bsses]) {
      assert.equal((await fetch(`${url}/metrics`)).status, 401, url);
      assert.equal((await scrape(url)).status, 200, url);
    }
  });

  test('a service started with the env template as shipped refuses to, until METRICS_TOKEN is replaced', async () => {
    for (const kind of ['server', 'bss'] as const) {
      const template = await envFile(join(DEPLOY, 'env', `${kind}.env.example`));
      assert.ok(template.METRICS_TOKEN, `${kind}.env.example sets METRICS_TOKEN`);
      const { args } = await unitCommand(`dreamlake-${kind}@.service`, '0');
      const site = {
        PRESIGN_SECRETS: 'deploy-test-presign-secret-0123456789abcdef',
        JWT_SECRET: 'deploy-test-jwt-secret-0123456789abcdef012345',
        SNAPSHOT_SIGNING_KEYS: 'deploy-test-snapshot-signing-key-0123456789',
        DREAMLAKE_DATA_DIR: join(work, `template-${kind}`),
        STORAGE: 'fs',
      };
      const run = spawnSync(process.execPath, args, {
        cwd: ROOT,
        env: { PATH: process.env.PATH, ...template, ...site },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.notEqual(run.status, 0, `${kind} started with the placeholder token`);
      assert.match(run.stderr + run.stdout, /METRICS_TOKEN/, kind);
    }
  });

  test('a user uploads and downloads through it, and carries on when one server and one BSS die', async () => {
    const env = cliEnv(join(work, 'home'));
    const user = uniqueName('ops');
    const signup = await runCli(
      ['signup', '--server', api, '--username', user, '--password-stdin'],
      env,
      'a long enough password\n',
    );
    assert.equal(signup.code, 0, signup.stderr);
    const source = join(work, 'source');
    await mkdir(source, { recursive: true });
    await makeFile(join(source, 'small.bin'), 100_000, 1);
    await makeFile(join(source, 'large.bin'), 20 * 1024 * 1024, 2);
    const up = await runCli(['upload', source, '--to', `${user}/runs`], env);
    assert.equal(up.code, 0, up.stderr);

    const check = async (out: string) => {
      const down = await runCli(['download', `${user}/runs`, '-o', out], env);
      assert.equal(down.code, 0, down.stderr);
      for (const name of ['small.bin', 'large.bin']) {
        assert.equal(await sha256File(join(out, 'source', name)), await sha256File(join(source, name)), name);
      }
    };
    await check(join(work, 'first'));
    // Both files were granted, by whichever servers the balancer chose, and counted there.
    const granted = await Promise.all(
      servers.map((url) => metric(url, 'dreamlake_upload_grants_total{outcome="granted"}')),
    );
    assert.equal(
      granted.reduce((a, b) => a + b, 0),
      2,
    );

    await stopChild(
      procs.find((p) => p.name === 'server1'),
      'SIGKILL',
    );
    await stopChild(
      procs.find((p) => p.name === 'bss1'),
      'SIGKILL',
    );
    await check(join(work, 'after-kill'));
    const ls = await runCli(['ls', `${user}/runs`], env);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /large\.bin/);
  });
});
