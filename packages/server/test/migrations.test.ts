import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Migrator, sql } from 'kysely';
import { migrations } from '../src/db/migrate.ts';
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

  test('tokens minted before by a token that ends with a login session are made to end with it, however deep', async () => {
    const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) } });
    await migrateToNothing(db);
    const to = await migrator.migrateTo('2026-12-06-002-tokens');
    assert.equal(to.error, undefined);
    const now = '2026-12-06T12:00:00.000Z';
    await sql`insert into users (id, username, password_hash, created_at, token_epoch) values ('u1', 'erin', 'x', ${now}, 3)`.execute(
      db,
    );
    const token = (id: string, parent: string | null, epoch: number | null) =>
      sql`insert into access_tokens (id, user_id, name, token_hash, created_at, parent_id, session_epoch)
          values (${id}, 'u1', ${id}, ${`hash-${id}`}, ${now}, ${parent}, ${epoch})`.execute(db);
    await token('brief', null, 3);
    await token('child', 'brief', null);
    await token('grandchild', 'child', null);
    await token('pat', null, null);
    await token('pat-child', 'pat', null);
    await migrateToLatest(db);
    const rows = await sql<{ id: string; session_epoch: number | null }>`
      select id, session_epoch from access_tokens order by id`.execute(db);
    assert.deepEqual(
      rows.rows.map((r) => [r.id, r.session_epoch === null ? null : Number(r.session_epoch)]),
      [
        ['brief', 3],
        ['child', 3],
        ['grandchild', 3],
        ['pat', null],
        ['pat-child', null],
      ],
    );
  });
});
