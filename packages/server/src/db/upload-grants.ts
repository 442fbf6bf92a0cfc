import type { DB } from './open.ts';
import { newId } from './ids.ts';

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

export async function recordUploadGrant(db: DB, grant: UploadGrant): Promise<void> {
  await db
    .insertInto('upload_grants')
    .values({
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
    })
    .execute();
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
