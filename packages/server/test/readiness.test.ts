import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildServerApp, type DB, openDatabase } from '../src/index.ts';
import { createTestDatabase, forEachEngine, type TestDatabase } from './helpers/engines.ts';
import { testConfig } from './helpers/harness.ts';

forEachEngine((engine) => {
  describe('liveness and readiness', () => {
    let database: TestDatabase;
    let db: DB;
    let app: FastifyInstance;
    before(async () => {
      database = await createTestDatabase(engine);
      db = await openDatabase({ databaseUrl: database.url });
      app = await buildServerApp({ config: testConfig({ databaseUrl: database.url }), db });
    });
    after(async () => {
      await app?.close();
      await database?.drop();
    });

    test('ready while the database answers; alive but not ready once it is gone', async () => {
      const alive = await app.inject({ method: 'GET', url: '/healthz' });
      assert.deepEqual([alive.statusCode, alive.json()], [200, { ok: true }]);
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      assert.deepEqual([ready.statusCode, ready.json()], [200, { ok: true, checks: { database: 'ok' } }]);

      await db.destroy();
      const notReady = await app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(notReady.statusCode, 503);
      assert.equal(notReady.json().error.code, 'unavailable');
      assert.deepEqual(notReady.json().error.checks, { database: 'failed' });
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    });
  });
});
