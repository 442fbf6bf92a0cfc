import { type Kysely, type Migration, type MigrationResultSet, Migrator } from 'kysely';
import * as initial from './migrations/2026-11-28-001-initial.ts';
import * as accounts from './migrations/2026-11-30-001-accounts.ts';
import * as blobGc from './migrations/2026-11-30-002-blob-gc.ts';
import * as quota from './migrations/2026-12-06-001-quota.ts';
import * as tokens from './migrations/2026-12-06-002-tokens.ts';
import * as deletesLineage from './migrations/2026-12-06-003-deletes-lineage.ts';
import * as snapshots from './migrations/2026-12-07-001-snapshots.ts';
import * as historyFrom from './migrations/2026-12-07-002-history-from.ts';
import * as shares from './migrations/2026-12-08-001-shares.ts';
import * as namespaceUsage from './migrations/2026-12-08-002-namespace-usage.ts';

/** Every migration, by name, in order. Listed here rather than read from disk so any runner works. */
export const migrations: Readonly<Record<string, Migration>> = {
  '2026-11-28-001-initial': initial,
  '2026-11-30-001-accounts': accounts,
  '2026-11-30-002-blob-gc': blobGc,
  '2026-12-06-001-quota': quota,
  '2026-12-06-002-tokens': tokens,
  '2026-12-06-003-deletes-lineage': deletesLineage,
  '2026-12-07-001-snapshots': snapshots,
  '2026-12-07-002-history-from': historyFrom,
  '2026-12-08-001-shares': shares,
  '2026-12-08-002-namespace-usage': namespaceUsage,
};

// biome-ignore lint/suspicious/noExplicitAny: migrations run before any schema type applies (Kysely's own convention)
function migrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) } });
}

/** An error's message and those of its causes (the driver's own words: ECONNREFUSED, …). */
function messages(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause === undefined ? error.message : `${error.message} (${messages(error.cause)})`;
}

function orThrow(result: MigrationResultSet): MigrationResultSet {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    const which = failed ? `database migration ${failed.migrationName}` : 'database migration';
    throw new Error(`${which} failed: ${messages(result.error)}`, { cause: result.error });
  }
  return result;
}

/**
 * Brings the schema up to date. Several instances may start at once on one PostgreSQL: the
 * migrator locks, but the very first run can race creating its own bookkeeping tables, so a
 * failure is retried once.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before any schema type applies (Kysely's own convention)
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  const first = await migrator(db).migrateToLatest();
  if (!first.error) return first;
  await new Promise((resolve) => setTimeout(resolve, 250));
  return orThrow(await migrator(db).migrateToLatest());
}

/** Undoes every migration (tests of the `down` steps). */
// biome-ignore lint/suspicious/noExplicitAny: migrations run before any schema type applies (Kysely's own convention)
export async function migrateToNothing(db: Kysely<any>): Promise<MigrationResultSet> {
  const { NO_MIGRATIONS } = await import('kysely');
  return orThrow(await migrator(db).migrateTo(NO_MIGRATIONS));
}
