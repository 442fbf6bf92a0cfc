import type { ColumnType } from 'kysely';
import { chunks, IN_LIST_CHUNK } from './chunks.ts';
import type { DB } from './open.ts';
import { PREPARED_ROWS, preparedRows } from './prepared.ts';

/** `upload_reservations` (migration 2026-12-06-001): bytes granted and not registered yet. */
interface UploadReservationsTable {
  namespace: string;
  space: string;
  hash: string;
  size: ColumnType<number | string, number, number>;
  expires_at: string;
}

const withTable = (db: DB) => db.withTables<{ upload_reservations: UploadReservationsTable }>();

/** One granted blob: its stated size counts against its namespace's quota until `expiresAt`. */
export interface Reservation {
  namespace: string;
  space: string;
  hash: string;
  size: number;
  expiresAt: string;
}

type ReservationRow = { namespace: string; space: string; hash: string; size: number; expires_at: string };

/**
 * A blob granted again takes the later grant's expiry, and its size. Compiled once per row count
 * (a grant's transaction carries the grants of one space asked for meanwhile: a few dozen rows).
 */
const insertReservations = preparedRows<ReservationRow>(
  ['namespace', 'space', 'hash', 'size', 'expires_at'],
  (db, rows) =>
    withTable(db)
      .insertInto('upload_reservations')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['namespace', 'space', 'hash']).doUpdateSet((eb) => ({
          size: eb.ref('excluded.size'),
          expires_at: eb.ref('excluded.expires_at'),
        })),
      ),
);

/**
 * Records grants: a blob granted again takes the later grant's expiry. Its size is the later one's
 * too, which callers (services/quota.ts) only let differ from a grant that no longer holds bytes.
 */
export async function reserve(db: DB, rows: readonly Reservation[]): Promise<void> {
  const values = rows.map((r) => ({
    namespace: r.namespace,
    space: r.space,
    hash: r.hash,
    size: r.size,
    expires_at: r.expiresAt,
  }));
  for (const slice of chunks(values, PREPARED_ROWS)) await insertReservations(db, slice);
}

/**
 * The stated size of each of these blobs of one space that a grant still holds bytes for. The
 * blobs are looked up by the primary key and their expiry compared here: with the expiry in the
 * query, SQLite's planner took the (namespace, expires_at) index and read every live grant of the
 * namespace on each call, a cost that grew with the grants outstanding.
 */
export async function reservedSizes(
  db: DB,
  where: { namespace: string; space: string },
  hashes: readonly string[],
  now: string,
): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const slice of chunks([...new Set(hashes)], IN_LIST_CHUNK)) {
    const rows = await withTable(db)
      .selectFrom('upload_reservations')
      .select(['hash', 'size', 'expires_at'])
      .where('namespace', '=', where.namespace)
      .where('space', '=', where.space)
      .where('hash', 'in', slice)
      .execute();
    for (const row of rows) if (row.expires_at > now) sizes.set(row.hash, Number(row.size));
  }
  return sizes;
}

/** Bytes the namespace's live grants hold. */
export async function reservedBytes(db: DB, namespace: string, now: string): Promise<number> {
  const row = await withTable(db)
    .selectFrom('upload_reservations')
    .select((eb) => eb.fn.sum<number | string | null>('size').as('total'))
    .where('namespace', '=', namespace)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(row?.total ?? 0);
}

/** Whether a grant still holds bytes for the blob (its URLs or its receipts may still be in use). */
export async function isReserved(
  db: DB,
  blob: { namespace: string; space: string; hash: string },
  now: string,
): Promise<boolean> {
  return (await reservedSizes(db, blob, [blob.hash], now)).size > 0;
}

/** Registered blobs: their grants hold no more bytes. */
export async function releaseReservations(
  db: DB,
  where: { namespace: string; space: string },
  hashes: readonly string[],
): Promise<void> {
  for (const slice of chunks([...new Set(hashes)], IN_LIST_CHUNK)) {
    await withTable(db)
      .deleteFrom('upload_reservations')
      .where('namespace', '=', where.namespace)
      .where('space', '=', where.space)
      .where('hash', 'in', slice)
      .execute();
  }
}

/** Forgets grants that count no more. */
export async function pruneReservations(db: DB, now: string): Promise<void> {
  await withTable(db).deleteFrom('upload_reservations').where('expires_at', '<=', now).execute();
}
