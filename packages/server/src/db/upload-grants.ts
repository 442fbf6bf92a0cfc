import { chunks } from './chunks.ts';
import { newId } from './ids.ts';
import type { DB } from './open.ts';
import { PREPARED_ROWS, preparedRows } from './prepared.ts';

/** The audit log's row of one answered grant request (table `upload_grants`): who asked for what, and the outcome. */
export interface GrantAuditRow {
  userId: string;
  username: string;
  namespace: string;
  space: string;
  hash: string;
  filename: string;
  type: string;
  size: number | null;
  contentType: string;
  outcome: 'granted' | 'exists';
  ip: string;
  createdAt: string;
}

type GrantRow = ReturnType<typeof row>;

const insertGrants = preparedRows<GrantRow>(
  [
    'id',
    'user_id',
    'username',
    'namespace',
    'space',
    'hash',
    'filename',
    'type',
    'size',
    'content_type',
    'outcome',
    'ip',
    'created_at',
  ],
  (db, rows) => db.insertInto('upload_grants').values(rows),
);

function row(grant: GrantAuditRow) {
  return {
    id: newId(),
    user_id: grant.userId,
    username: grant.username,
    namespace: grant.namespace,
    space: grant.space,
    hash: grant.hash,
    filename: grant.filename,
    type: grant.type,
    size: grant.size,
    content_type: grant.contentType,
    outcome: grant.outcome,
    ip: grant.ip,
    created_at: grant.createdAt,
  };
}

/** Many grants at once: one multi-row insert, or several in one transaction. */
export async function recordUploadGrants(db: DB, grants: readonly GrantAuditRow[]): Promise<void> {
  const slices = chunks(grants.map(row), PREPARED_ROWS);
  if (slices.length <= 1) return insertGrants(db, slices[0] ?? []);
  await db.transaction().execute(async (trx) => {
    for (const slice of slices) await insertGrants(trx, slice);
  });
}

/** Grants written inside the caller's transaction: multi-row inserts of up to PREPARED_ROWS rows. */
export async function insertUploadGrants(trx: DB, grants: readonly GrantAuditRow[]): Promise<void> {
  for (const slice of chunks(grants.map(row), PREPARED_ROWS)) await insertGrants(trx, slice);
}

export async function listUploadGrants(db: DB, namespace: string): Promise<GrantAuditRow[]> {
  const rows = await db
    .selectFrom('upload_grants')
    .select([
      'user_id as userId',
      'username',
      'namespace',
      'space',
      'hash',
      'filename',
      'type',
      'size',
      'content_type as contentType',
      'outcome',
      'ip',
      'created_at as createdAt',
    ])
    .where('namespace', '=', namespace)
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({
    ...r,
    size: r.size === null ? null : Number(r.size),
    outcome: r.outcome as GrantAuditRow['outcome'],
  }));
}

/** A place in the grants, in (created_at, id) order. */
export interface GrantCursor {
  createdAt: string;
  id: string;
}

/** What a grant named, and where it stands in the walk. */
export interface GrantedBlob extends GrantCursor {
  namespace: string;
  space: string;
  hash: string;
}

/** Up to `limit` grants after `after` and made at or before `until`, in (created_at, id) order. */
export async function grantsBetween(db: DB, after: GrantCursor, until: string, limit: number): Promise<GrantedBlob[]> {
  return db
    .selectFrom('upload_grants')
    .select(['id', 'created_at as createdAt', 'namespace', 'space', 'hash'])
    .where((eb) =>
      eb.or([
        eb('created_at', '>', after.createdAt),
        eb.and([eb('created_at', '=', after.createdAt), eb('id', '>', after.id)]),
      ]),
    )
    .where('created_at', '<=', until)
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** Whether the blob was granted (again) after `since`. */
export async function grantedAfter(
  db: DB,
  blob: { namespace: string; space: string; hash: string },
  since: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('upload_grants')
    .select('id')
    .where('namespace', '=', blob.namespace)
    .where('space', '=', blob.space)
    .where('hash', '=', blob.hash)
    .where('created_at', '>', since)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
