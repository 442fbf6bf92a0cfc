import { trackUsage } from '../db/namespace-usage.ts';
import { lockNamespace } from '../db/namespaces.ts';
import type { DB } from '../db/open.ts';
import { addCandidates } from './candidates.ts';

const DAY_MS = 24 * 3600_000;

/**
 * SNAPSHOT_RETENTION_DAYS: drops each space's snapshots made before `now` minus that many days,
 * except head. With v_min the oldest version kept (the oldest made since then, or head), the
 * entries no kept version has (`file_history` rows with `to_version` <= v_min) are deleted and
 * the versions before v_min marked dropped; the blobs those entries named become candidates for
 * the collection, which deletes those nothing else keeps (head, a kept version, a draft, a live
 * grant). Each space under its namespace's lock. Answers how many snapshots were dropped.
 */
export async function dropOldSnapshots(db: DB, retentionDays: number, nowMs: number): Promise<number> {
  const now = new Date(nowMs).toISOString();
  const cutoff = new Date(nowMs - retentionDays * DAY_MS).toISOString();
  const spaces = await db
    .selectFrom('snapshots')
    .innerJoin('spaces', 'spaces.id', 'snapshots.space_id')
    .innerJoin('namespaces', 'namespaces.id', 'spaces.namespace_id')
    .select([
      'spaces.id as spaceId',
      'spaces.name as space',
      'namespaces.id as namespaceId',
      'namespaces.name as namespace',
    ])
    .distinct()
    .where('snapshots.created_at', '<', cutoff)
    .where('snapshots.dropped_at', 'is', null)
    .whereRef('snapshots.version', '<', 'spaces.head_version')
    .execute();
  let dropped = 0;
  for (const space of spaces) {
    dropped += await db.transaction().execute(async (trx) => {
      await lockNamespace(trx, space.namespaceId);
      const head = await trx
        .selectFrom('spaces')
        .select('head_version')
        .where('id', '=', space.spaceId)
        .executeTakeFirst();
      if (!head) return 0;
      const kept = await trx
        .selectFrom('snapshots')
        .select((eb) => eb.fn.min<number | string>('version').as('v'))
        .where('space_id', '=', space.spaceId)
        .where((eb) => eb.or([eb('created_at', '>=', cutoff), eb('version', '=', Number(head.head_version))]))
        .executeTakeFirst();
      const vMin = Number(kept?.v ?? head.head_version);
      const gone = await trx
        .selectFrom('file_history')
        .select('hash')
        .distinct()
        .where('space_id', '=', space.spaceId)
        .where('to_version', '<=', vMin)
        .execute();
      await trackUsage(
        trx,
        { namespaceId: space.namespaceId, space: space.space },
        gone.map((row) => row.hash),
        () =>
          trx
            .deleteFrom('file_history')
            .where('space_id', '=', space.spaceId)
            .where('to_version', '<=', vMin)
            .execute(),
      );
      const marked = await trx
        .updateTable('snapshots')
        .set({ dropped_at: now })
        .where('space_id', '=', space.spaceId)
        .where('version', '<', vMin)
        .where('dropped_at', 'is', null)
        .executeTakeFirst();
      await addCandidates(
        trx,
        { namespace: space.namespace, space: space.space },
        gone.map((row) => row.hash),
        now,
      );
      return Number(marked.numUpdatedRows);
    });
  }
  return dropped;
}
