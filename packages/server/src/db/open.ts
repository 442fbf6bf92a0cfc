import { Kysely, type LogEvent } from 'kysely';
import { type CheckpointTuning, dialectFor } from './dialect.ts';
import { migrateToLatest } from './migrate.ts';
import type { Database } from './schema.ts';

export type DB = Kysely<Database>;

/** Told the duration of every query a database runs, whether it failed, and its SQL. */
export type QueryListener = (seconds: number, failed: boolean, sql: string) => void;

const listenersByDb = new WeakMap<DB, Set<QueryListener>>();

/**
 * Has `listener` told of every query `db` runs from now on (a database opened by `openDatabase`;
 * others run none past it); answers the function that stops it.
 */
export function onQueries(db: DB, listener: QueryListener): () => void {
  const listeners = listenersByDb.get(db);
  listeners?.add(listener);
  return () => listeners?.delete(listener);
}

/** Opens the configured database and brings its schema up to date. */
export async function openDatabase(config: { databaseUrl: string; checkpoints?: CheckpointTuning }): Promise<DB> {
  const listeners = new Set<QueryListener>();
  const log = (event: LogEvent) => {
    for (const listener of listeners)
      listener(event.queryDurationMillis / 1000, event.level === 'error', event.query.sql);
  };
  const db = new Kysely<Database>({ dialect: dialectFor(config.databaseUrl, config.checkpoints), log });
  listenersByDb.set(db, listeners);
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}
