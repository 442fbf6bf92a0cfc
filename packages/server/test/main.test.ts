import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runScript } from './helpers/spawn.ts';

test('the server process refuses to start without its secrets and names them', async () => {
  const result = await runScript('main.ts', [], { PRESIGN_SECRETS: 'short' }).done;
  assert.equal(result.code, 1);
  assert.match(result.stderr, /PRESIGN_SECRETS: secret #1 is shorter than 32 bytes/);
  assert.match(result.stderr, /JWT_SECRET is missing/);
});

test('the server process answers /healthz and stops cleanly on SIGTERM', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dreamlake-main-'));
  const run = runScript('main.ts', [], {
    DREAMLAKE_DEV: '1',
    DREAMLAKE_DATA_DIR: dir,
    SERVER_PORT: '0',
    LOG_LEVEL: 'info',
    SCRYPT_LOG_N: '10',
  });
  try {
    let url: string | undefined;
    for (let i = 0; i < 600 && !url && run.child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      url = /listening on (http:\/\/[^"\s]+)/.exec(run.output())?.[1];
    }
    assert.ok(url, 'the server printed its address');
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true });
    run.child.kill('SIGTERM');
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!run.output().includes('"level":50'), 'no error was logged');
  } finally {
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
