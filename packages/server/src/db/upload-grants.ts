import type { DB } from './open.ts';
import { newId } from './ids.ts';
import { chunks } from './chunks.ts';
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
  ['id', 'user_id', 'username', 'namespace', 'space', 'hash', 'filename', 'type', 'size', 'content_type', 'outcome', 'ip', 'created_at'],
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

export async function recordUploadGrant(db: DB, grant: UploadGrant): Promise<void> {
  await db.insertInto('upload_grants').values(row(grant)).execute();
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
      'user_id as userId', 'username', 'namespace', 'space', 'hash', 'filename', 'type', 'size',
      'content_type as contentType', 'outcome', 'ip', 'created_at as createdAt',
    ])
    .where('namespace', '=', namespace)
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({ ...r, size: r.size === null ? null : Number(r.size), outcome: r.outcome as UploadGrant['outcome'] }));
}

/** Writes audit rows; rows recorded together (in the same turn of the event loop) share one transaction. */
export interface GrantRecorder {
  /** Resolves once the rows are written. */
  record(grants: readonly UploadGrant[]): Promise<void>;
}

/**
 * Group commit for the audit log: every request still waits until its rows are in the database,
 * but the rows of requests answered at the same moment go in one multi-row insert rather than a
 * transaction each. A failed write fails every request whose rows it carried.
 */
export function createGrantRecorder(db: DB): GrantRecorder {
  let pending: { grants: UploadGrant[]; done: Promise<void> } | null = null;
  let writing: Promise<void> = Promise.resolve();

  function flush(grants: UploadGrant[]): Promise<void> {
    const previous = writing;
    const done = previous.then(() => {
      if (pending?.grants === grants) pending = null;
      return recordUploadGrants(db, grants);
    });
    writing = done.catch(() => {});
    return done;
  }

  return {
    record(grants) {
      if (grants.length === 0) return Promise.resolve();
      if (!pending) {
        const batch: UploadGrant[] = [];
        pending = { grants: batch, done: new Promise<void>((resolve) => setImmediate(resolve)).then(() => flush(batch)) };
      }
      pending.grants.push(...grants);
      return pending.done;
    },
  };
}
