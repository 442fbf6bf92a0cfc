import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { test } from 'node:test';
import { recordUploadGrants } from '../src/db/upload-grants.ts';
import { openDatabase } from '../src/index.ts';
import { createTestDatabase } from './helpers/engines.ts';

// SQLite only: PostgreSQL has no WAL file of ours to checkpoint.
test('SQLite: commits leave the WAL to a background checkpoint, which copies it into the database file', async () => {
  const database = await createTestDatabase('sqlite');
  const db = await openDatabase({ databaseUrl: database.url });
  try {
    const grant = {
      userId: 'u',
      username: 'u',
      namespace: 'n',
      space: 's',
      hash: 'h',
      filename: 'f',
      type: 'files',
      size: 1,
      contentType: 'a/b',
      outcome: 'granted' as const,
      ip: '::1',
      createdAt: new Date().toISOString(),
    };
    const before = statSync(database.url).size;
    for (let i = 0; i < 20; i++)
      await recordUploadGrants(
        db,
        Array.from({ length: 64 }, () => grant),
      );
    assert.ok(statSync(`${database.url}-wal`).size > 0);
    assert.equal(statSync(database.url).size, before, 'the commits themselves do not checkpoint');
    const deadline = Date.now() + 5000;
    while (statSync(database.url).size === before && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(statSync(database.url).size > before, 'the checkpointer copied the pages back');
    const rows = await db
      .selectFrom('upload_grants')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(rows.n), 20 * 64);
  } finally {
    await db.destroy();
    await database.drop();
  }
});
