import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import pg from 'pg';
import type { Engine } from '../../src/index.ts';

export const ENGINES: readonly Engine[] = ['sqlite', 'postgres'];

export interface TestDatabase {
  engine: Engine;
  url: string;
  drop(): Promise<void>;
}

const PG_ADMIN_URL = process.env.DREAMLAKE_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

async function adminQuery(text: string, values: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  try {
    await client.connect();
  } catch (error) {
    const where = new URL(PG_ADMIN_URL);
    throw new Error(
      `PostgreSQL is not reachable at ${where.host} (DREAMLAKE_TEST_PG_URL): ${(error as Error).message}`,
    );
  }
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Drops a scratch database once the test's own connections are gone: a closed pool resolves
 * before its sockets have finished closing, and a connection `with (force)` terminates then
 * fails in the test process as an uncaught error. Waits up to two seconds, then forces.
 */
async function dropDatabase(name: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const [row] = await adminQuery('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
    if (row?.n === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await adminQuery(`drop database if exists ${name} with (force)`);
}

/** A fresh empty database: a SQLite file in a temp folder, or a scratch PostgreSQL database. */
export async function createTestDatabase(engine: Engine): Promise<TestDatabase> {
  if (engine === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'dreamlake-server-'));
    // The checkpoint worker closes its own connection just after the database is destroyed, and
    // SQLite may still remove its -wal/-shm files then: removal is retried rather than failing.
    const drop = () => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    return { engine, url: join(dir, 'server.sqlite'), drop };
  }
  const name = `dreamlake_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { engine, url: url.toString(), drop: () => dropDatabase(name) };
}

/** Declares the same suite once per database engine, as kysely's own tests do. */
export function forEachEngine(suite: (engine: Engine) => void): void {
  for (const engine of ENGINES) describe(engine, () => suite(engine));
}
