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
      'draft_entries',
      'drafts',
      'file_history',
      'files',
      'login_clients',
      'login_failures',
      'memberships',
      'namespace_usage',
      'namespaces',
      'share_uses',
      'shares',
      'signup_attempts',
      'snapshots',
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

  test('the files of a space indexed before versioning become its snapshot 1; an empty space has none', async () => {
    const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) } });
    await migrateToNothing(db);
    assert.equal((await migrator.migrateTo('2026-12-06-003-deletes-lineage')).error, undefined);
    const now = '2026-12-06T12:00:00.000Z';
    await sql`insert into users (id, username, password_hash, created_at) values ('u1', 'erin', 'x', ${now})`.execute(
      db,
    );
    await sql`insert into namespaces (id, name, kind, created_at) values ('n1', 'erin', 'user', ${now})`.execute(db);
    for (const space of ['full', 'empty'])
      await sql`insert into spaces (id, namespace_id, name, created_by, created_at) values (${space}, 'n1', ${space}, 'u1', ${now})`.execute(
        db,
      );
    for (let i = 0; i < 300; i += 1)
      await sql`insert into files (id, space_id, name, type, size, content_type, hash, uploaded_by, created_at, updated_at)
        values (${`f${i}`}, 'full', ${`frames/${i}.png`}, 'image', ${i + 1}, 'image/png', ${String(i).padStart(64, '0')}, 'u1', ${now}, ${now})`.execute(
        db,
      );
    assert.equal((await migrateToLatest(db)).error, undefined);
    const heads = await sql<{
      name: string;
      head_version: number;
    }>`select name, head_version from spaces order by name`.execute(db);
    assert.deepEqual(
      heads.rows.map((r) => [r.name, Number(r.head_version)]),
      [
        ['empty', 0],
        ['full', 1],
      ],
    );
    const snapshots = await sql<{ space_id: string; version: number; files: number; bytes: number; added: number }>`
      select space_id, version, files, bytes, added from snapshots`.execute(db);
    assert.deepEqual(
      snapshots.rows.map((r) => [r.space_id, Number(r.version), Number(r.files), Number(r.bytes), Number(r.added)]),
      [['full', 1, 300, (300 * 301) / 2, 300]],
    );
    const versions = await sql<{ n: number }>`select count(*) as n from files where from_version = 1`.execute(db);
    assert.equal(Number(versions.rows[0]?.n), 300);
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
