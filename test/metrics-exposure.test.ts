/**
 * /metrics without METRICS_TOKEN is answered only on a loopback address: a service bound to a
 * network address (HOST=0.0.0.0, a private IP) refuses it with 403 and says so in its log at
 * start. Both services (they register the one route of @dreamlake/presign).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeApp } from '../packages/bss/test/helpers.ts';
import { buildServerApp, openDatabase } from '../packages/server/src/index.ts';
import { createTestDatabase } from '../packages/server/test/helpers/engines.ts';
import { testConfig } from '../packages/server/test/helpers/harness.ts';

const TOKEN = 'exposure-test-metrics-token-0123';

async function serverScrape(host: string, token: string | null, headers: Record<string, string> = {}) {
  const database = await createTestDatabase('sqlite');
  const lines: string[] = [];
  const config = testConfig({ databaseUrl: database.url, host, metricsToken: token, logLevel: 'warn' });
  const db = await openDatabase(config);
  const app = await buildServerApp({ config, db, logStream: { write: (line) => lines.push(line) } });
  try {
    const res = await app.inject({ method: 'GET', url: '/metrics', headers });
    return { status: res.statusCode, body: res.body, log: lines.join('') };
  } finally {
    await app.close();
    await db.destroy();
    await database.drop();
  }
}

test('the server: without a token, /metrics is answered on loopback addresses only', async () => {
  for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', '::1']) {
    const { status, log } = await serverScrape(host, null);
    assert.equal(status, 200, host);
    assert.doesNotMatch(log, /METRICS_TOKEN/, host);
  }
  for (const host of ['0.0.0.0', '::', '10.0.0.11', 'api.internal']) {
    const { status, body, log } = await serverScrape(host, null);
    assert.equal(status, 403, host);
    const { error } = JSON.parse(body) as { error: { code: string; message: string } };
    assert.equal(error.code, 'forbidden', host);
    assert.match(error.message, /METRICS_TOKEN/);
    assert.doesNotMatch(body, /process_cpu/);
    assert.match(log, /METRICS_TOKEN/, `${host}: said at start`);
  }
});

test('the server: with a token, /metrics is answered on any address to the token only', async () => {
  assert.equal((await serverScrape('0.0.0.0', TOKEN)).status, 401);
  const ok = await serverScrape('0.0.0.0', TOKEN, { authorization: `Bearer ${TOKEN}` });
  assert.equal(ok.status, 200);
  assert.match(ok.body, /process_cpu/);
});

test('BSS: the same rule', async () => {
  for (const [env, headers, status] of [
    [{ HOST: '127.0.0.1' }, {}, 200],
    [{ HOST: '0.0.0.0' }, {}, 403],
    [{ HOST: '0.0.0.0', METRICS_TOKEN: TOKEN }, {}, 401],
    [{ HOST: '0.0.0.0', METRICS_TOKEN: TOKEN }, { authorization: `Bearer ${TOKEN}` }, 200],
  ] as const) {
    const bss = await makeApp({ ...env });
    try {
      const res = await bss.app.inject({ method: 'GET', url: '/metrics', headers });
      assert.equal(res.statusCode, status, JSON.stringify(env));
    } finally {
      await bss.close();
    }
  }
});
