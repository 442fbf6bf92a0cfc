import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { test } from 'node:test';
import { recordUploadGrants } from '../src/db/upload-grants.ts';
import { openDatabase } from '../src/index.ts';
import { createTestDatabase } from './helpers/engines.ts';

// SQLite only: PostgreSQL has no WAL file of ours to checkpoint.

/** One audited grant, as the grant route records it. */
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

test('SQLite: commits leave the WAL to a background checkpoint, which copies it into the database file', async () => {
  const database = await createTestDatabase('sqlite');
  const db = await openDatabase({ databaseUrl: database.url });
  try {
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

/**
 * Writes grants back to back for `ms` milliseconds on a database whose checkpointer runs every
 * 20 ms and starts a WAL over past `restartFrames`; answers the WAL file's largest size seen.
 */
async function longestWal(restartFrames: number, ms: number): Promise<{ largest: number; rows: number }> {
  const database = await createTestDatabase('sqlite');
  const db = await openDatabase({ databaseUrl: database.url, checkpoints: { intervalMs: 20, restartFrames } });
  try {
    let largest = 0;
    let rows = 0;
    for (const end = Date.now() + ms; Date.now() < end; ) {
      // A server's writes come from requests, between which its event loop turns.
      await new Promise((resolve) => setImmediate(resolve));
      await recordUploadGrants(
        db,
        Array.from({ length: 64 }, () => ({ ...grant, hash: randomBytes(32).toString('hex') })),
      );
      rows += 64;
      largest = Math.max(largest, statSync(`${database.url}-wal`).size);
    }
    return { largest, rows };
  } finally {
    await db.destroy();
    await database.drop();
  }
}

test('SQLite: under writes that never pause, the WAL starts over once long, where left to the background checkpoints it grows for as long as they last', async () => {
  const MiB = 1024 * 1024;
  // 256 frames of 4 KiB: 1 MiB.
  const left = await longestWal(Number.MAX_SAFE_INTEGER, 3000);
  const restarted = await longestWal(256, 3000);
  assert.ok(left.rows > 20_000 && restarted.rows > 20_000, `enough writes: ${left.rows}, ${restarted.rows} rows`);
  assert.ok(
    left.largest > 16 * MiB,
    `the background checkpoints alone let the WAL grow (${(left.largest / MiB).toFixed(1)} MiB)`,
  );
  assert.ok(
    restarted.largest < left.largest / 4,
    `started over, the WAL stays short (${(restarted.largest / MiB).toFixed(1)} MiB against ${(left.largest / MiB).toFixed(1)} MiB)`,
  );
});
