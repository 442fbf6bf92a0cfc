import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { type Dialect, type SqliteDatabase as KyselySqliteDatabase, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { type CheckpointerOptions, startCheckpointer } from './checkpointer.ts';
import { withUnavailableErrors } from './connection.ts';

export type Engine = 'sqlite' | 'postgres';

/** PostgreSQL connections per server process. */
export const POSTGRES_POOL_SIZE = 20;

/**
 * How long a query waits for a PostgreSQL connection (a free one from the pool, or a new one to a
 * server that does not answer) before it fails as `unavailable`: well within the request timeout.
 */
export const POSTGRES_CONNECT_TIMEOUT_MS = 5000;

/** Prepared SQLite statements kept per database, by SQL text. */
const STATEMENT_CACHE_SIZE = 500;

export function engineOf(databaseUrl: string): Engine {
  return /^postgres(ql)?:\/\//i.test(databaseUrl) ? 'postgres' : 'sqlite';
}

/** A SQLite path from a DATABASE_URL that is not PostgreSQL (`sqlite:` and `file:` prefixes allowed). */
function sqlitePath(databaseUrl: string): string {
  return databaseUrl.replace(/^(sqlite|file):(\/\/)?/i, '');
}

/**
 * The database as Kysely's SQLite driver uses it, with each statement prepared once: the driver
 * prepares every query anew otherwise, which costs more than running it. Statements are run to
 * completion synchronously, so one prepared statement is never in use twice at once.
 */
function withStatementCache(database: SqliteDatabase.Database, onClose: () => void): KyselySqliteDatabase {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close() {
      onClose();
      database.close();
    },
    prepare(sql) {
      const cached = statements.get(sql);
      if (cached) return cached;
      const statement = database.prepare(sql);
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value as string);
      statements.set(sql, statement);
      return statement;
    },
  };
}

/**
 * The PostgreSQL pool. A connection the server closes (a restart, a failover) is dropped from the
 * pool and the next query opens a new one; the error such a connection raises while idle, or
 * between a transaction's queries, is not left to crash the process: the query that next uses it
 * fails instead, as `unavailable`.
 */
function postgresPool(databaseUrl: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: POSTGRES_POOL_SIZE,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    keepAlive: true,
  });
  const ignore = () => {};
  pool.on('error', ignore);
  pool.on('connect', (client) => client.on('error', ignore));
  return pool;
}

/** How a SQLite file's checkpoints run (tests shorten them); nothing for PostgreSQL. */
export type CheckpointTuning = Pick<CheckpointerOptions, 'intervalMs' | 'restartFrames'>;

/**
 * The Kysely dialect for a DATABASE_URL, whose connection failures answer 503 `unavailable`;
 * creates the SQLite file's folder when needed.
 */
export function dialectFor(databaseUrl: string, checkpoints: CheckpointTuning = {}): Dialect {
  return withUnavailableErrors(engineDialect(databaseUrl, checkpoints));
}

/** A WAL that started over is cut back to this size (it is reused from its start otherwise). */
const WAL_KEPT_BYTES = 64 * 1024 * 1024;

function engineDialect(databaseUrl: string, checkpoints: CheckpointTuning): Dialect {
  if (engineOf(databaseUrl) === 'postgres') return new PostgresDialect({ pool: postgresPool(databaseUrl) });
  const path = sqlitePath(databaseUrl);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SqliteDatabase(path);
  database.pragma('journal_mode = WAL');
  // In WAL mode a commit survives a crash of the process at NORMAL; only a power loss may undo
  // the last commits, never corrupt the file. FULL would fsync on every commit.
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  if (path === ':memory:') return new SqliteDialect({ database: withStatementCache(database, () => {}) });
  // Checkpoints run on a worker thread rather than in whichever commit fills the WAL; should the
  // worker fail, SQLite takes them back. A WAL left long by steady writes is caught up here, between
  // two transactions (see CheckpointerOptions.onLongWal), so that it starts over.
  database.pragma('wal_autocheckpoint = 0');
  database.pragma(`journal_size_limit = ${WAL_KEPT_BYTES}`);
  const checkpointer = startCheckpointer(path, {
    ...checkpoints,
    onFailure: () => database.open && database.pragma('wal_autocheckpoint = 1000'),
    onLongWal: () => {
      if (!database.open || database.inTransaction) return;
      try {
        database.pragma('wal_checkpoint(PASSIVE)');
      } catch {
        // A checkpoint that fails here is tried again at the worker's next word; queries say why.
      }
    },
  });
  return new SqliteDialect({ database: withStatementCache(database, () => void checkpointer.stop()) });
}
