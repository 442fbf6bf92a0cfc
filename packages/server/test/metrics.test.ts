import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildServerApp, type DB, openDatabase } from '../src/index.ts';
import { createTestDatabase, forEachEngine, type TestDatabase } from './helpers/engines.ts';
import { sha256, testConfig, useHarness } from './helpers/harness.ts';

/** The value of one series in Prometheus text (`name{a="b"} 3`), 0 when absent. */
function series(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return 0;
}

async function scrape(app: FastifyInstance, headers: Record<string, string> = {}): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(res.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
  return res.body;
}

const initBody = (namespace: string, name: string) => ({
  namespace,
  space: 'metrics',
  filename: name,
  hash: sha256(name),
  contentType: 'text/plain',
  type: 'files',
  size: 1,
});

forEachEngine((engine) => {
  describe('server metrics', () => {
    const h = useHarness(engine, () => ({
      login: {
        maxFailuresPerUser: 2,
        maxFailuresPerAddress: 50,
        maxFailuresPerUserGlobal: 100,
        maxSignupsPerAddress: 1_000_000,
        windowSeconds: 900,
      },
    }));

    test('default process metrics, and requests counted and timed by route pattern and status', async () => {
      const alice = await h.user('metered');
      await h.call('GET', '/namespaces/nobody/spaces', alice.token);
      await h.call('GET', `/namespaces/${alice.name}/spaces`, alice.token);
      await h.call('GET', '/no/such/route');
      const text = await scrape(h.app);
      assert.ok(series(text, 'process_cpu_user_seconds_total') > 0);
      assert.ok(series(text, 'nodejs_heap_size_used_bytes') > 0);
      const route = { method: 'GET', route: '/namespaces/:ns/spaces' };
      assert.equal(series(text, 'dreamlake_http_requests_total', { ...route, status: '200' }), 1);
      assert.equal(series(text, 'dreamlake_http_requests_total', { ...route, status: '404' }), 1);
      assert.equal(series(text, 'dreamlake_http_requests_total', { route: 'unmatched', status: '404' }), 1);
      assert.equal(series(text, 'dreamlake_http_request_duration_seconds_count', { ...route, status: '200' }), 1);
      assert.ok(series(text, 'dreamlake_db_query_duration_seconds_count', { outcome: 'ok' }) > 0);
    });

    test('logins by outcome, and the throttle', async () => {
      const bob = await h.user('loginmetric');
      const login = (password: string) =>
        h.call('POST', '/auth/login', undefined, { username: bob.name, password }, '10.9.9.9');
      assert.equal((await login('correct horse battery')).statusCode, 200);
      for (let i = 0; i < 2; i++) assert.equal((await login('wrong password')).statusCode, 401);
      assert.equal((await login('wrong password')).statusCode, 429);
      const text = await scrape(h.app);
      assert.equal(series(text, 'dreamlake_logins_total', { outcome: 'ok' }), 1);
      assert.equal(series(text, 'dreamlake_logins_total', { outcome: 'unauthorized' }), 2);
      assert.equal(series(text, 'dreamlake_logins_total', { outcome: 'rate_limited' }), 1);
      assert.equal(series(text, 'dreamlake_auth_throttled_total', { route: '/auth/login' }), 1);
    });

    test('upload grants by outcome: granted, exists and refusals by code', async () => {
      const before = await scrape(h.app);
      const count = (text: string, outcome: string) => series(text, 'dreamlake_upload_grants_total', { outcome });
      const carol = await h.user('grantmetric');
      assert.equal((await h.call('POST', '/uploads/init', carol.token, initBody(carol.name, 'a'))).statusCode, 200);
      const { namespace: _n, space: _s, ...entry } = initBody(carol.name, 'b');
      const batch = await h.call('POST', '/uploads/batch', carol.token, {
        namespace: carol.name,
        space: 'metrics',
        files: [{ ...entry, size: 1 }],
      });
      assert.equal(batch.statusCode, 200, batch.body);
      // A file the space already indexes is answered `exists`.
      h.bss.put(carol.name, 'metrics', sha256('a'), 1, 'text/plain');
      const registered = await h.call('POST', `/namespaces/${carol.name}/spaces/metrics/files`, carol.token, {
        name: 'a',
        hash: sha256('a'),
        type: 'files',
      });
      assert.equal(registered.statusCode, 201, registered.body);
      assert.equal((await h.call('POST', '/uploads/init', carol.token, initBody(carol.name, 'a'))).json().exists, true);
      assert.equal((await h.call('POST', '/uploads/init', carol.token, initBody('nobody', 'c'))).statusCode, 403);
      const text = await scrape(h.app);
      assert.equal(count(text, 'granted') - count(before, 'granted'), 2);
      assert.equal(count(text, 'exists') - count(before, 'exists'), 1);
      assert.equal(count(text, 'forbidden') - count(before, 'forbidden'), 1);
    });
  });
});

describe('the metrics token', () => {
  let database: TestDatabase;
  let db: DB;
  let app: FastifyInstance;
  const token = 'metrics-token-0123456789abcdef';
  before(async () => {
    database = await createTestDatabase('sqlite');
    db = await openDatabase({ databaseUrl: database.url });
    app = await buildServerApp({ config: testConfig({ databaseUrl: database.url, metricsToken: token }), db });
  });
  after(async () => {
    await app?.close();
    await db?.destroy();
    await database?.drop();
  });

  test('a scrape without the token, or with another, is refused with 401 unauthorized', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-the-token' }, { authorization: token }]) {
      const res = await app.inject({ method: 'GET', url: '/metrics', headers });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().error.code, 'unauthorized');
      assert.ok(!res.body.includes('process_cpu'), 'no metric leaks');
    }
    assert.match(await scrape(app, { authorization: `Bearer ${token}` }), /dreamlake_http_requests_total/);
  });
});
