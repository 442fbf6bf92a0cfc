import { chunks, IN_LIST_CHUNK } from '../db/chunks.ts';
import type { DB } from '../db/open.ts';

/** `blob_candidates` (migration 2026-12-06-001): blobs for the collection to look at. */
interface BlobCandidatesTable {
  namespace: string;
  space: string;
  hash: string;
  since: string;
  /** When a delete of this blob was sent to BSS; null when none is on its way. */
  deleting_at: string | null;
}

const withTable = (db: DB) => db.withTables<{ blob_candidates: BlobCandidatesTable }>();

export interface BlobKey {
  namespace: string;
  space: string;
  hash: string;
}

export interface Candidate extends BlobKey {
  since: string;
}

/**
 * A delete sent to BSS is over well within this (the BSS client gives up after 10 s): a mark
 * older than this is left over from a collection that stopped, and holds nothing back.
 */
export const DELETE_LEASE_MS = 10 * 60_000;

/** Blobs of one space that lost their last name: the collection looks at them on its next run. */
export async function addCandidates(
  db: DB,
  where: { namespace: string; space: string },
  hashes: readonly string[],
  now: string,
): Promise<void> {
  for (const slice of chunks([...new Set(hashes)], 1000)) {
    await withTable(db)
      .insertInto('blob_candidates')
      .values(slice.map((hash) => ({ ...where, hash, since: now, deleting_at: null })))
      .onConflict((oc) => oc.columns(['namespace', 'space', 'hash']).doNothing())
      .execute();
  }
}

/** Which of these blobs of one space have a delete on its way to BSS (marked after `staleBefore`). */
export async function beingDeleted(
  db: DB,
  where: { namespace: string; space: string },
  hashes: readonly string[],
  staleBefore: string,
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const slice of chunks([...new Set(hashes)], IN_LIST_CHUNK)) {
    const rows = await withTable(db)
      .selectFrom('blob_candidates')
      .select('hash')
      .where('namespace', '=', where.namespace)
      .where('space', '=', where.space)
      .where('hash', 'in', slice)
      .where('deleting_at', '>', staleBefore)
      .execute();
    for (const row of rows) found.add(row.hash);
  }
  return found;
}

/** Marks the blob as being deleted (a candidate row is made when there is none). */
export async function markDeleting(db: DB, blob: BlobKey, now: string): Promise<void> {
  await withTable(db)
    .insertInto('blob_candidates')
    .values({ ...blob, since: now, deleting_at: now })
    .onConflict((oc) => oc.columns(['namespace', 'space', 'hash']).doUpdateSet({ deleting_at: now }))
    .execute();
}

/** The blob's delete is over without deleting it: it stays a candidate. */
export async function unmarkDeleting(db: DB, blob: BlobKey): Promise<void> {
  await withTable(db)
    .updateTable('blob_candidates')
    .set({ deleting_at: null })
    .where('namespace', '=', blob.namespace)
    .where('space', '=', blob.space)
    .where('hash', '=', blob.hash)
    .execute();
}

export async function dropCandidate(db: DB, blob: BlobKey): Promise<void> {
  await withTable(db)
    .deleteFrom('blob_candidates')
    .where('namespace', '=', blob.namespace)
    .where('space', '=', blob.space)
    .where('hash', '=', blob.hash)
    .execute();
}

/** Up to `limit` candidates after `after` in (since, namespace, space, hash) order, with no live delete mark. */
export async function candidatesAfter(
  db: DB,
  after: Candidate | null,
  staleBefore: string,
  limit: number,
): Promise<Candidate[]> {
  let query = withTable(db)
    .selectFrom('blob_candidates')
    .select(['namespace', 'space', 'hash', 'since'])
    .where((eb) => eb.or([eb('deleting_at', 'is', null), eb('deleting_at', '<=', staleBefore)]));
  if (after) {
    query = query.where((eb) =>
      eb(
        eb.refTuple('since', 'namespace', 'space', 'hash'),
        '>',
        eb.tuple(after.since, after.namespace, after.space, after.hash),
      ),
    );
  }
  return query.orderBy('since').orderBy('namespace').orderBy('space').orderBy('hash').limit(limit).execute();
}
