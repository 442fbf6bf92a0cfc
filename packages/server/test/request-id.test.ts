import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildServerApp, type DB, openDatabase } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from './helpers/engines.ts';
import { testConfig } from './helpers/harness.ts';

let database: TestDatabase;
let db: DB;
let app: FastifyInstance;
const lines: string[] = [];
before(async () => {
  database = await createTestDatabase('sqlite');
  db = await openDatabase({ databaseUrl: database.url });
  const config = testConfig({ databaseUrl: database.url, logLevel: 'info', corsOrigins: ['https://app.example'] });
  app = await buildServerApp({ config, db, logStream: { write: (line) => void lines.push(line) } });
});
after(async () => {
  await app?.close();
  await db?.destroy();
  await database?.drop();
});

const logOf = (id: string) =>
  lines.map((line) => JSON.parse(line) as { requestId?: string; msg: string }).filter((l) => l.requestId === id);

test("the client's request id is answered in x-request-id and carried by every log line of the request", async () => {
  const id = 'cli-7f3a9c.file-0001';
  const res = await app.inject({
    method: 'POST',
    url: '/auth/login',
    headers: { 'x-request-id': id },
    payload: { username: 'nobody', password: 'not a password' },
  });
  assert.equal(res.statusCode, 401);
  assert.equal(res.headers['x-request-id'], id);
  const logged = logOf(id);
  assert.deepEqual(
    logged.map((l) => l.msg),
    ['incoming request', 'request completed'],
  );
});

test('without an id, or with one unfit for a log line, each request gets a fresh one', async () => {
  const ids = new Set<string>();
  for (const headers of [{}, {}, { 'x-request-id': 'a b\tc' }, { 'x-request-id': 'x'.repeat(200) }]) {
    const res = await app.inject({ method: 'GET', url: '/healthz', headers });
    const id = res.headers['x-request-id'] as string;
    assert.match(id, /^[0-9a-f-]{36}$/);
    ids.add(id);
    assert.equal(logOf(id).length, 2);
  }
  assert.equal(ids.size, 4);
});

test('an answer no route gave carries the id too', async () => {
  const res = await app.inject({ method: 'GET', url: '/no/such/route', headers: { 'x-request-id': 'lost-1' } });
  assert.equal(res.statusCode, 404);
  assert.equal(res.headers['x-request-id'], 'lost-1');
});

test('the web page may send the header and read it back across origins', async () => {
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/uploads/init',
    headers: {
      origin: 'https://app.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type,x-request-id',
    },
  });
  assert.equal(preflight.statusCode, 204);
  assert.match(preflight.headers['access-control-allow-headers'] as string, /x-request-id/);
  const res = await app.inject({
    method: 'GET',
    url: '/healthz',
    headers: { origin: 'https://app.example', 'x-request-id': 'page-1' },
  });
  assert.match(res.headers['access-control-expose-headers'] as string, /x-request-id/);
});
