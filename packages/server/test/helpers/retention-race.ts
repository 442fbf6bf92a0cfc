/**
 * Reads that the retention overtakes: a space with versions to drop, and a way to drop them just
 * after a request checked the version it reads and before it reads its entries.
 */
import assert from 'node:assert/strict';
import SqliteDatabase from 'better-sqlite3';
import type { LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import type { Engine } from '../../src/db/dialect.ts';
import { onQueries } from '../../src/db/open.ts';
import { committer } from './commits.ts';
import type { Harness } from './harness.ts';

const DAY = 24 * 3600_000;
export const NAMES = Array.from({ length: 300 }, (_, i) => `run/${String(i).padStart(3, '0')}.bin`);
/** The oldest version the retention keeps in these tests: 1 and 2 are dropped. */
export const V_MIN = 3;

/** What the retention does to a space in its transaction (gc/retention.ts), as SQL. */
const RETENTION = [
  'delete from file_history where space_id = $1 and to_version <= $2',
  'update snapshots set dropped_at = $3 where space_id = $1 and version < $2 and dropped_at is null',
];

/**
 * A space "robotics" of `user` whose version 1 has 300 files (NAMES), version 2 half of them
 * changed, version 3 (a week on) one more; `hashOf` gives each blob its hash.
 */
export async function spaceWithHistory(
  h: Harness,
  user: { name: string; token: string },
  hashOf: (text: string) => string,
) {
  const c = committer(h, user.name, user.token);
  const t0 = h.clock.now;
  try {
    assert.equal((await c.commit({ puts: NAMES.map((n) => c.put(n, hashOf(`v1${n}`))) })).statusCode, 201);
    const changed = NAMES.filter((_, i) => i % 2 === 0);
    assert.equal((await c.commit({ puts: changed.map((n) => c.put(n, hashOf(`v2${n}`))) })).statusCode, 201);
    h.clock.now = t0 + 7 * DAY;
    assert.equal((await c.commit({ puts: [c.put('late.bin', hashOf('late'))] })).statusCode, 201);
  } finally {
    h.clock.now = t0;
  }
  const space = await h.db
    .selectFrom('spaces')
    .innerJoin('namespaces', 'namespaces.id', 'spaces.namespace_id')
    .select('spaces.id')
    .where('namespaces.name', '=', user.name)
    .where('spaces.name', '=', 'robotics')
    .executeTakeFirstOrThrow();
  return { c, spaceId: space.id };
}

/**
 * Runs `request` with the retention dropping versions 1 and 2 of the space just after the
 * request checked the version it reads and before it reads its entries. SQLite: the drop runs
 * on a connection of its own as soon as the request's snapshot query is done (the request's
 * next statement starts after it). PostgreSQL: the drop's transaction holds `file_history`
 * until the request waits for it, then drops and commits.
 */
export async function dropDuring(
  h: Harness,
  engine: Engine,
  spaceId: string,
  request: () => Promise<LightMyRequestResponse>,
): Promise<LightMyRequestResponse> {
  const now = new Date(h.clock.now).toISOString();
  if (engine === 'sqlite') {
    let armed = true;
    const stop = onQueries(h.db, (_seconds, _failed, sql) => {
      if (!armed || !sql.includes('from "snapshots"')) return;
      armed = false;
      const other = new SqliteDatabase(h.config.databaseUrl);
      try {
        other.pragma('busy_timeout = 10000');
        other.transaction(() => {
          // SQLite numbers its parameters by first use: named ones keep the shared SQL.
          const named = (statement: string) =>
            other.prepare(statement.replace(/\$1/g, '@space').replace(/\$2/g, '@vMin').replace(/\$3/g, '@now'));
          named(RETENTION[0]!).run({ space: spaceId, vMin: V_MIN });
          named(RETENTION[1]!).run({ space: spaceId, vMin: V_MIN, now });
        })();
      } finally {
        other.close();
      }
    });
    try {
      return await request();
    } finally {
      stop();
    }
  }
  const retention = new pg.Client({ connectionString: h.config.databaseUrl });
  await retention.connect();
  try {
    await retention.query('begin');
    await retention.query('lock table file_history in access exclusive mode');
    const answer = request();
    for (let i = 0; ; i++) {
      const { rows } = await retention.query(
        "select count(*)::int as n from pg_locks where relation = 'file_history'::regclass and not granted",
      );
      if (rows[0].n > 0) break;
      if (i > 1000) throw new Error('the request never read file_history');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await retention.query(RETENTION[0]!, [spaceId, V_MIN]);
    await retention.query(RETENTION[1]!, [spaceId, V_MIN, now]);
    await retention.query('commit');
    return await answer;
  } finally {
    await retention.end();
  }
}
