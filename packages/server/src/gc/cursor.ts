import type { DB } from '../db/open.ts';
import type { GrantCursor } from '../db/upload-grants.ts';

/** `blob_gc`: how far each walk over the grants has got (migration 2026-11-30-002). */
interface BlobGcTable {
  name: string;
  created_at: string;
  grant_id: string;
  updated_at: string;
}

const withGcTable = (db: DB) => db.withTables<{ blob_gc: BlobGcTable }>();

/** Where the walk `name` stopped; null before its first run. */
export async function readCursor(db: DB, name: string): Promise<GrantCursor | null> {
  const row = await withGcTable(db)
    .selectFrom('blob_gc')
    .select(['created_at', 'grant_id'])
    .where('name', '=', name)
    .executeTakeFirst();
  return row ? { createdAt: row.created_at, id: row.grant_id } : null;
}

/** Records where the walk `name` has got to. */
export async function saveCursor(db: DB, name: string, cursor: GrantCursor, now: string): Promise<void> {
  await withGcTable(db)
    .insertInto('blob_gc')
    .values({ name, created_at: cursor.createdAt, grant_id: cursor.id, updated_at: now })
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({ created_at: cursor.createdAt, grant_id: cursor.id, updated_at: now }),
    )
    .execute();
}
