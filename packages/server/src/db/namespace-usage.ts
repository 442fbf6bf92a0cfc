import { sql } from 'kysely';
import { chunks, IN_LIST_CHUNK } from './chunks.ts';
import type { DB } from './open.ts';

/**
 * Which of these hashes are live in the space (by name: a draft's space may not exist yet) of the
 * namespace, with their size: named by head, by an older snapshot, or by a put of a draft.
 */
async function liveSizes(
  db: DB,
  namespaceId: string,
  space: string,
  hashes: readonly string[],
): Promise<Map<string, number>> {
  const live = new Map<string, number>();
  for (const slice of chunks(hashes, IN_LIST_CHUNK)) {
    const rows = await db
      .selectFrom((eb) =>
        eb
          .selectFrom('files')
          .innerJoin('spaces', 'spaces.id', 'files.space_id')
          .select(['files.hash as hash', 'files.size as size'])
          .where('spaces.namespace_id', '=', namespaceId)
          .where('spaces.name', '=', space)
          .where('files.hash', 'in', slice)
          .unionAll(
            eb
              .selectFrom('file_history')
              .innerJoin('spaces', 'spaces.id', 'file_history.space_id')
              .select(['file_history.hash as hash', 'file_history.size as size'])
              .where('spaces.namespace_id', '=', namespaceId)
              .where('spaces.name', '=', space)
              .where('file_history.hash', 'in', slice),
          )
          .unionAll(
            eb
              .selectFrom('draft_entries')
              .innerJoin('drafts', 'drafts.id', 'draft_entries.draft_id')
              .select(['draft_entries.hash as hash', 'draft_entries.size as size'])
              .where('drafts.namespace_id', '=', namespaceId)
              .where('drafts.space', '=', space)
              .where('draft_entries.op', '=', 'put')
              .where('draft_entries.hash', 'in', slice)
              .$narrowType<{ hash: string; size: number | string }>(),
          )
          .as('named'),
      )
      .select((eb) => ['named.hash', eb.fn.max('named.size').as('size')])
      .groupBy('named.hash')
      .execute();
    for (const row of rows) live.set(row.hash, Number(row.size));
  }
  return live;
}

/** Adds `delta` bytes to what the namespace stores. */
async function addUsage(db: DB, namespaceId: string, delta: number): Promise<void> {
  if (delta === 0) return;
  await db
    .insertInto('namespace_usage')
    .values({ namespace_id: namespaceId, stored_bytes: delta })
    .onConflict((oc) =>
      oc
        .column('namespace_id')
        .doUpdateSet({ stored_bytes: sql`namespace_usage.stored_bytes + excluded.stored_bytes` }),
    )
    .execute();
}

/**
 * Runs `write`, which changes which blobs are live in one space of the namespace, and keeps the
 * namespace's stored bytes exact: `hashes` must hold every hash the write may make live or no
 * longer live; each of them live after and not before adds its size, each live before and not
 * after takes it away. Runs inside the transaction holding the namespace's lock. O(hashes).
 */
export async function trackUsage<T>(
  db: DB,
  where: { namespaceId: string; space: string },
  hashes: Iterable<string>,
  write: () => Promise<T>,
): Promise<T> {
  const touched = [...new Set(hashes)];
  if (touched.length === 0) return write();
  const before = await liveSizes(db, where.namespaceId, where.space, touched);
  const result = await write();
  const after = await liveSizes(db, where.namespaceId, where.space, touched);
  let delta = 0;
  for (const [hash, size] of after) if (!before.has(hash)) delta += size;
  for (const [hash, size] of before) if (!after.has(hash)) delta -= size;
  await addUsage(db, where.namespaceId, delta);
  return result;
}

/** The bytes the namespace stores (see recountNamespaceUsage), as kept by each write: O(1). */
export async function namespaceUsage(db: DB, namespaceId: string): Promise<number> {
  const row = await db
    .selectFrom('namespace_usage')
    .select('stored_bytes')
    .where('namespace_id', '=', namespaceId)
    .executeTakeFirst();
  return Number(row?.stored_bytes ?? 0);
}
