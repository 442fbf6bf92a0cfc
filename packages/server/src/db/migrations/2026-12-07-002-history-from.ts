import type { Kysely } from 'kysely';

/**
 * The entries a range of versions wrote: `file_history` by (space, from_version), as `files`
 * already is. A diff between two versions reads the rows whose range starts or ends between them
 * (an entry added after the older version and replaced after the newer one starts there), so it
 * costs the changes, not the space's whole history.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('file_history_from').on('file_history').columns(['space_id', 'from_version']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('file_history_from').execute();
}
