import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildBssApp } from '../src/app.ts';
import { createStorage } from '../src/storage/index.ts';
import { makeApp, tempDir, testConfig } from './helpers.ts';
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
    const notReady = await bss.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(notReady.statusCode, 503);
    assert.equal(notReady.json().error.code, 'storage_unavailable');
    assert.deepEqual(notReady.json().error.checks, { storage: 'failed' });
    assert.equal((await bss.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);

    await rm(probe);
    assert.equal((await bss.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  } finally {
    await bss.close();
  }
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
