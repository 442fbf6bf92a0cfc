import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import os from 'node:os';
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
 * The frames the WAL holds now: `mxFrame` of the wal-index header at the start of the `-shm` file
 * (sqlite.org/walformat.html), which falls back to 0 when the WAL starts over. The WAL file's size
 * does not tell: a WAL that starts over is written again from its start and keeps its size.
 */
function walFrames(path: string): number {
  const header = Buffer.alloc(4);
  const fd = openSync(`${path}-shm`, 'r');
  try {
    readSync(fd, header, 0, 4, 16);
  } finally {
    closeSync(fd);
  }
  return os.endianness() === 'LE' ? header.readUInt32LE(0) : header.readUInt32BE(0);
}

/**
 * Writes grants back to back for `ms` milliseconds on a database whose checkpointer runs every
 * `intervalMs` and starts a WAL over past `restartFrames`; answers the most frames the WAL held
 * and how often it started over.
 */
async function longestWal(
  checkpoints: { intervalMs: number; restartFrames: number },
  ms: number,
): Promise<{ largest: number; restarts: number; rows: number }> {
  const database = await createTestDatabase('sqlite');
  const db = await openDatabase({ databaseUrl: database.url, checkpoints });
  try {
    let largest = 0;
    let restarts = 0;
    let last = 0;
    let rows = 0;
    for (const end = Date.now() + ms; Date.now() < end; ) {
      // A server's writes come from requests, between which its event loop turns.
      await new Promise((resolve) => setImmediate(resolve));
      await recordUploadGrants(
        db,
        Array.from({ length: 64 }, () => ({ ...grant, hash: randomBytes(32).toString('hex') })),
      );
      rows += 64;
      const frames = walFrames(database.url);
      if (frames < last) restarts += 1;
      last = frames;
      largest = Math.max(largest, frames);
    }
    return { largest, restarts, rows };
  } finally {
    await db.destroy();
    await database.drop();
  }
}

test('SQLite: under writes that never pause, the WAL starts over once long, where left to the background checkpoints it grows for as long as they last', async () => {
  // Without a restart threshold: the writes never pause, so no checkpoint pass (one a second)
  // finds every frame copied, and the WAL holds all 3 s of writes.
  const left = await longestWal({ intervalMs: 1000, restartFrames: Number.MAX_SAFE_INTEGER }, 3000);
  // 256 frames of 4 KiB: 1 MiB, looked at every 20 ms.
  const restarted = await longestWal({ intervalMs: 20, restartFrames: 256 }, 3000);
  assert.ok(left.rows > 10_000 && restarted.rows > 10_000, `enough writes: ${left.rows}, ${restarted.rows} rows`);
  assert.ok(left.largest > 4096, `the background checkpoints alone let the WAL grow (${left.largest} frames)`);
  assert.ok(
    restarted.restarts >= 2 && restarted.largest < left.largest / 2,
    `started over (${restarted.restarts} times), the WAL stays short (at most ${restarted.largest} frames against ${left.largest})`,
  );
});
