import type { SnapshotView } from '@dreamlake/protocol';
import type { Selectable } from 'kysely';
import type { DB } from './open.ts';
import type { SnapshotsTable } from './schema.ts';

/** A snapshot's row, with its author's username joined in. */
export type SnapshotRow = Selectable<SnapshotsTable> & { author_name: string };

function snapshotQuery(db: DB) {
  return db
    .selectFrom('snapshots')
    .innerJoin('users', 'users.id', 'snapshots.author')
    .selectAll('snapshots')
    .select('users.username as author_name');
}

/** Version `version` of the space (a dropped one too: check `dropped_at`), or undefined. */
export async function findSnapshot(db: DB, spaceId: string, version: number): Promise<SnapshotRow | undefined> {
  return snapshotQuery(db)
    .where('snapshots.space_id', '=', spaceId)
    .where('snapshots.version', '=', version)
    .executeTakeFirst();
}

/**
 * Whether the retention dropped version `version` (0, the empty version: whether it dropped
 * version 1), so that what changed since it is no longer wholly recorded. It drops the oldest
 * versions first: any dropped version at or after `version` means that one is dropped too.
 */
export async function versionDropped(db: DB, spaceId: string, version: number): Promise<boolean> {
  const row = await db
    .selectFrom('snapshots')
    .select('version')
    .where('space_id', '=', spaceId)
    .where('version', '>=', version)
    .where('dropped_at', 'is not', null)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** The space's newest version (0: no snapshot yet, or no such space). */
export async function headVersion(db: DB, spaceId: string): Promise<number> {
  const row = await db.selectFrom('spaces').select('head_version').where('id', '=', spaceId).executeTakeFirst();
  return row ? Number(row.head_version) : 0;
}

/** The snapshot as the API shows it (bigint columns are strings on PostgreSQL). */
export function snapshotView(
  namespace: string,
  space: string,
  row: Selectable<SnapshotsTable>,
  authorName: string,
): SnapshotView {
  const view: SnapshotView = {
    namespace,
    space,
    version: Number(row.version),
    parent: row.parent === null ? null : Number(row.parent),
    author: authorName,
    message: row.message,
    createdAt: row.created_at,
    counts: { added: Number(row.added), changed: Number(row.changed), removed: Number(row.removed) },
    files: Number(row.files),
    bytes: Number(row.bytes),
  };
  if (row.manifest_hash) view.manifestHash = row.manifest_hash;
  return view;
}

export interface NewSnapshot {
  spaceId: string;
  version: number;
  parent: number | null;
  /** The author's user id. */
  author: string;
  message: string;
  createdAt: string;
  added: number;
  changed: number;
  removed: number;
  files: number;
  bytes: number;
  manifestHash?: string | null;
}

/** Records a new version and moves the space's head to it (a commit calls it in its transaction). */
export async function insertSnapshot(db: DB, input: NewSnapshot): Promise<Selectable<SnapshotsTable>> {
  const row = {
    space_id: input.spaceId,
    version: input.version,
    parent: input.parent,
    author: input.author,
    message: input.message,
    created_at: input.createdAt,
    added: input.added,
    changed: input.changed,
    removed: input.removed,
    files: input.files,
    bytes: input.bytes,
    manifest_hash: input.manifestHash ?? null,
    dropped_at: null,
  } satisfies Selectable<SnapshotsTable>;
  await db.insertInto('snapshots').values(row).execute();
  await db.updateTable('spaces').set({ head_version: input.version }).where('id', '=', input.spaceId).execute();
  return row;
}
