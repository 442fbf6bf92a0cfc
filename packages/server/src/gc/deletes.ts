import type { ServerConfig } from '../config.ts';
import { chunks, IN_LIST_CHUNK } from '../db/chunks.ts';
import type { DB } from '../db/open.ts';
import type { BlobKey } from './candidates.ts';

/** `blob_deletes` (migration 2026-12-06-003): when the collection last deleted each blob. */
interface BlobDeletesTable {
  namespace: string;
  space: string;
  hash: string;
  deleted_at: string;
}

const withTable = (db: DB) => db.withTables<{ blob_deletes: BlobDeletesTable }>();

/**
 * How far the clocks of the processes sharing the database (the collection's and the one proving
 * a blob) may disagree: a delete recorded this close before a proof still counts as after it.
 */
export const CLOCK_SKEW_MS = 2_000;

/**
 * How long a finished delete is remembered: the URL lifetime plus the grace period, longer than
 * any receipt lives (one URL lifetime) and than any `stat` is waited on. A proof older than this
 * is not taken (services/quota.ts).
 */
export function deletesKeptMs(config: Pick<ServerConfig, 'presignTtlSeconds' | 'blobGcGraceSeconds'>): number {
  return (config.presignTtlSeconds + config.blobGcGraceSeconds) * 1000;
}

/** Records that a delete of the blob was sent to BSS and is over (or was given up on) at `at`. */
export async function recordDeleted(db: DB, blob: BlobKey, at: string): Promise<void> {
  await withTable(db)
    .insertInto('blob_deletes')
    .values({ namespace: blob.namespace, space: blob.space, hash: blob.hash, deleted_at: at })
    .onConflict((oc) => oc.columns(['namespace', 'space', 'hash']).doUpdateSet({ deleted_at: at }))
    .execute();
}

/** When each of these blobs of one space was last deleted, for those deleted after `since`. */
export async function deletedSince(
  db: DB,
  where: { namespace: string; space: string },
  hashes: readonly string[],
  since: string,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const slice of chunks([...new Set(hashes)], IN_LIST_CHUNK)) {
    const rows = await withTable(db)
      .selectFrom('blob_deletes')
      .select(['hash', 'deleted_at'])
      .where('namespace', '=', where.namespace)
      .where('space', '=', where.space)
      .where('hash', 'in', slice)
      .where('deleted_at', '>', since)
      .execute();
    for (const row of rows) found.set(row.hash, row.deleted_at);
  }
  return found;
}

/** Forgets deletes finished before `before`. */
export async function pruneDeletes(db: DB, before: string): Promise<void> {
  await withTable(db).deleteFrom('blob_deletes').where('deleted_at', '<', before).execute();
}
