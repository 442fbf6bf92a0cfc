import assert from 'node:assert/strict';
import fsp, { mkdir, rm, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join, sep } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { buildBssApp } from '../src/app.ts';
import { createReadiness, READINESS_REUSED_MS, type Readiness } from '../src/observability/readiness.ts';
import { createStorage } from '../src/storage/index.ts';
import { makeApp, tempDir, testConfig } from './helpers.ts';

/** Asks /readyz until it answers `status`; answers that answer and how long it took. */
async function readyzUntil(app: FastifyInstance, status: number, withinMs: number) {
  const start = Date.now();
  for (;;) {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    const waited = Date.now() - start;
    if (res.statusCode === status) return { res, waited };
    assert.ok(waited < withinMs, `/readyz still ${res.statusCode} after ${waited} ms`);
    await sleep(20);
  }
}

/** `count` concurrent /readyz. */
function burst(app: FastifyInstance, count: number) {
  return Promise.all(Array.from({ length: count }, () => app.inject({ method: 'GET', url: '/readyz' })));
}

import { readS3TestConfig, S3_SKIP_REASON, s3EnvVars } from './storage-s3-env.ts';

test('disk backend: alive always; ready while its folder takes a file', async () => {
  const bss = await makeApp();
  try {
    const alive = await bss.app.inject({ method: 'GET', url: '/healthz' });
    assert.deepEqual(alive.json(), { ok: true, storage: 'fs' });
    const ready = await bss.app.inject({ method: 'GET', url: '/readyz' });
    assert.deepEqual([ready.statusCode, ready.json()], [200, { ok: true, checks: { storage: 'ok' } }]);

    // The folder cannot take a file: where the probe goes is a file itself.
    const probe = join(bss.dir, 'bss', 'probe');
    await rm(probe, { recursive: true, force: true });
    await mkdir(join(bss.dir, 'bss'), { recursive: true });
    await writeFile(probe, 'in the way');
    // The last probe's answer stands for a moment; the broken disk shows once it is older.
    const { res: notReady } = await readyzUntil(bss.app, 503, READINESS_REUSED_MS + 1000);
    assert.equal(notReady.statusCode, 503);
    assert.equal(notReady.json().error.code, 'storage_unavailable');
    assert.deepEqual(notReady.json().error.checks, { storage: 'failed' });
    assert.equal((await bss.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);

    await rm(probe);
    await readyzUntil(bss.app, 200, READINESS_REUSED_MS + 1000);
  } finally {
    await bss.close();
  }
});

test('disk backend: a burst of /readyz writes one probe file, not one a call', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const writeFileAsIs = fsp.writeFile;
  let probes = 0;
  fsp.writeFile = ((path: Parameters<typeof writeFileAsIs>[0], ...rest: unknown[]) => {
    if (String(path).includes(`${sep}probe${sep}`)) probes += 1;
    return (writeFileAsIs as (...args: unknown[]) => Promise<void>)(path, ...rest);
  }) as typeof writeFileAsIs;
  syncBuiltinESMExports();
  t.after(() => {
    fsp.writeFile = writeFileAsIs;
    syncBuiltinESMExports();
  });
  const answers = await burst(bss.app, 50);
  assert.deepEqual(new Set(answers.map((res) => res.statusCode)), new Set([200]));
  assert.ok(probes >= 1 && probes <= 2, `${probes} probe files written for 50 calls`);
});

test('concurrent /readyz share one probe; a failing probe shows once the answer in hand is older than the window', async (t) => {
  const temp = await tempDir();
  t.after(() => temp.remove());
  const config = testConfig(temp.dir);
  let state: 'ok' | 'failed' = 'ok';
  let probes = 0;
  const probe: Readiness = {
    async check() {
      probes += 1;
      await sleep(30);
      return { storage: state };
    },
    close() {},
  };
  const windowMs = 300;
  const app = await buildBssApp({
    config,
    storage: await createStorage(config),
    readiness: createReadiness(config, { probe, reuseMs: windowMs }),
  });
  t.after(() => app.close());

  const ok = await burst(app, 40);
  assert.deepEqual(new Set(ok.map((res) => res.statusCode)), new Set([200]));
  assert.equal(probes, 1);

  state = 'failed';
  const { res, waited } = await readyzUntil(app, 503, windowMs + 2000);
  assert.deepEqual(res.json().error.checks, { storage: 'failed' });
  assert.ok(waited <= windowMs + 500, `the failure showed after ${waited} ms`);
  // A failure is an answer like any other: a burst right after it makes no probe of its own.
  const before = probes;
  const failed = await burst(app, 40);
  assert.deepEqual(new Set(failed.map((r) => r.statusCode)), new Set([503]));
  assert.ok(probes - before <= 1, `${probes - before} probes for a burst`);
});

const s3 = readS3TestConfig();
describe('S3 backend readiness', { skip: s3 ? false : S3_SKIP_REASON }, () => {
  test('ready when the bucket answers; not ready once the bucket is gone', async () => {
    const temp = await tempDir();
    const storage = await createStorage(testConfig(temp.dir, s3EnvVars(s3!)));
    try {
      for (const [bucket, status] of [
        [s3!.bucket, 200],
        [`dreamlake-missing-${Date.now()}`, 503],
      ] as const) {
        // The app checks the bucket its configuration names (storage opened before it was gone).
        const config = testConfig(temp.dir, s3EnvVars({ ...s3!, bucket }));
        const app = await buildBssApp({ config, storage });
        try {
          const res = await app.inject({ method: 'GET', url: '/readyz' });
          assert.equal(res.statusCode, status, res.body);
          assert.deepEqual(status === 200 ? res.json().checks : res.json().error.checks, {
            bucket: status === 200 ? 'ok' : 'failed',
          });
        } finally {
          await app.close();
        }
      }
    } finally {
      await storage.close();
      await temp.remove();
    }
  });
});
