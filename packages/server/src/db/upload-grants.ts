import { chunks } from './chunks.ts';
import { newId } from './ids.ts';
import type { DB } from './open.ts';
import { PREPARED_ROWS, preparedRows } from './prepared.ts';

export interface UploadGrant {
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

function row(grant: UploadGrant) {
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
export async function recordUploadGrants(db: DB, grants: readonly UploadGrant[]): Promise<void> {
  const slices = chunks(grants.map(row), PREPARED_ROWS);
  if (slices.length <= 1) return insertGrants(db, slices[0] ?? []);
  await db.transaction().execute(async (trx) => {
    for (const slice of slices) await insertGrants(trx, slice);
  });
}

export async function listUploadGrants(db: DB, namespace: string): Promise<UploadGrant[]> {
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
    outcome: r.outcome as UploadGrant['outcome'],
  }));
}
