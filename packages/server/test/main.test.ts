import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Service, startService, stopChild } from '../../../support/process.ts';
import { runScript, SRC } from './helpers/spawn.ts';

test('the server process refuses to start without its secrets and names them', async () => {
  const result = await runScript('main.ts', [], { PRESIGN_SECRETS: 'short' }).done;
  assert.equal(result.code, 1);
  assert.match(result.stderr, /PRESIGN_SECRETS: secret #1 is shorter than 32 bytes/);
  assert.match(result.stderr, /JWT_SECRET is missing/);
  assert.match(result.stderr, /SNAPSHOT_SIGNING_KEYS is missing/);
});

test('the server process answers /healthz and stops cleanly on SIGTERM', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dreamlake-main-'));
  const env = { DREAMLAKE_DEV: '1', DREAMLAKE_DATA_DIR: dir, SERVER_PORT: '0', LOG_LEVEL: 'info', SCRYPT_LOG_N: '10' };
  let server: Service | undefined;
  try {
    // Its URL is read from its "listening on" line: the port is the one it chose.
    server = await startService(`${SRC}main.ts`, { env, what: 'server', timeoutMs: 60_000 });
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true });
    server.child.kill('SIGTERM');
    const { code } = await server.done;
    assert.equal(code, 0, server.stderr.join(''));
    assert.ok(!server.output.join('').includes('"level":50'), 'no error was logged');
  } finally {
    await stopChild(server, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
