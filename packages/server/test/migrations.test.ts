import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { type DB, migrateToLatest, migrateToNothing, openDatabase } from '../src/index.ts';
import { createTestDatabase, forEachEngine, type TestDatabase } from './helpers/engines.ts';

forEachEngine((engine) => {
  let database: TestDatabase;
  let db: DB;
  before(async () => {
    database = await createTestDatabase(engine);
    db = await openDatabase({ databaseUrl: database.url });
  });
  after(async () => {
    await db?.destroy();
    await database?.drop();
  });

  test('migrations run at open, undo cleanly and run again; opening twice is harmless', async () => {
    const tables = async () =>
      (await db.introspection.getTables())
        .map((t) => t.name)
        .filter((n) => !n.startsWith('kysely_'))
        .sort();
    const expected = [
      'access_tokens',
      'blob_candidates',
      'blob_deletes',
      'blob_gc',
      'files',
      'login_clients',
      'login_failures',
      'memberships',
      'namespaces',
      'signup_attempts',
      'spaces',
      'upload_grants',
      'upload_reservations',
      'users',
    ];
    assert.deepEqual(await tables(), expected);
    const second = await openDatabase({ databaseUrl: database.url });
    await second.destroy();
    await migrateToNothing(db);
    assert.deepEqual(await tables(), []);
    await migrateToLatest(db);
    assert.deepEqual(await tables(), expected);
    await sql`select count(*) from files`.execute(db);
  });
});
