import type { DB } from './open.ts';
import type { SnapshotRow } from './snapshots.ts';

/**
 * A page of a space's snapshots, newest first, from before version `before` (the last of the page
 * before), leaving out those the retention dropped; and whether more follow.
 */
export async function listSnapshotsPage(
  db: DB,
  spaceId: string,
  page: { before?: number | undefined; limit: number },
): Promise<{ rows: SnapshotRow[]; more: boolean }> {
  let query = db
    .selectFrom('snapshots')
    .innerJoin('users', 'users.id', 'snapshots.author')
    .selectAll('snapshots')
    .select('users.username as author_name')
    .where('snapshots.space_id', '=', spaceId)
    .where('snapshots.dropped_at', 'is', null);
  if (page.before !== undefined) query = query.where('snapshots.version', '<', page.before);
  const rows = await query
    .orderBy('snapshots.version', 'desc')
    .limit(page.limit + 1)
    .execute();
  return { rows: rows.slice(0, page.limit), more: rows.length > page.limit };
}
