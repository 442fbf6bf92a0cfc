import { Kysely } from 'kysely';
import { dialectFor } from './dialect.ts';
import { migrateToLatest } from './migrate.ts';
import type { Database } from './schema.ts';

export type DB = Kysely<Database>;

/** Opens the configured database and brings its schema up to date. */
export async function openDatabase(config: { databaseUrl: string }): Promise<DB> {
  const db = new Kysely<Database>({ dialect: dialectFor(config.databaseUrl) });
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}
