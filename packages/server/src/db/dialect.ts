import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { PostgresDialect, SqliteDialect, type Dialect } from 'kysely';

export type Engine = 'sqlite' | 'postgres';

export function engineOf(databaseUrl: string): Engine {
  return /^postgres(ql)?:\/\//i.test(databaseUrl) ? 'postgres' : 'sqlite';
}

/** A SQLite path from a DATABASE_URL that is not PostgreSQL (`sqlite:` and `file:` prefixes allowed). */
function sqlitePath(databaseUrl: string): string {
  return databaseUrl.replace(/^(sqlite|file):(\/\/)?/i, '');
}

/** The Kysely dialect for a DATABASE_URL; creates the SQLite file's folder when needed. */
export function dialectFor(databaseUrl: string): Dialect {
  if (engineOf(databaseUrl) === 'postgres') {
    return new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 10 }) });
  }
  const path = sqlitePath(databaseUrl);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SqliteDatabase(path);
  database.pragma('journal_mode = WAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  return new SqliteDialect({ database });
}
