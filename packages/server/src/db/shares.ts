import type { ListedShare as WireListedShare } from '@dreamlake/protocol';
import { sql } from 'kysely';
import { chunks, IN_LIST_CHUNK } from './chunks.ts';
import { newId } from './ids.ts';
import type { DB } from './open.ts';

/** A share link as the server checks it at each use. */
export interface StoredShare {
  id: string;
  namespaceId: string;
  namespace: string;
  spaceId: string;
  space: string;
  /** The pinned version, or null: head at each use. */
  version: number | null;
  prefix: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  /** The space's head now. */
  headVersion: number;
}

/** A share link as its owners list it (whether it expired is told by the service). */
export type ListedShare = Omit<WireListedShare, 'expired'>;

export interface NewShare {
  secretHash: string;
  namespaceId: string;
  spaceId: string;
  version: number | null;
  prefix: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
}

export async function insertShare(db: DB, input: NewShare): Promise<string> {
  const id = newId(Date.parse(input.createdAt));
  await db
    .insertInto('shares')
    .values({
      id,
      secret_hash: input.secretHash,
      namespace_id: input.namespaceId,
      space_id: input.spaceId,
      version: input.version,
      prefix: input.prefix,
      created_by: input.createdBy,
      created_at: input.createdAt,
      expires_at: input.expiresAt,
    })
    .execute();
  return id;
}

function shareQuery(db: DB) {
  return db
    .selectFrom('shares')
    .innerJoin('namespaces', 'namespaces.id', 'shares.namespace_id')
    .innerJoin('spaces', 'spaces.id', 'shares.space_id')
    .select([
      'shares.id as id',
      'shares.namespace_id as namespaceId',
      'namespaces.name as namespace',
      'shares.space_id as spaceId',
      'spaces.name as space',
      'shares.version as version',
      'shares.prefix as prefix',
      'shares.created_by as createdBy',
      'shares.created_at as createdAt',
      'shares.expires_at as expiresAt',
      'shares.revoked_at as revokedAt',
      'spaces.head_version as headVersion',
    ]);
}

type ShareRow = Omit<StoredShare, 'version' | 'headVersion'> & {
  version: number | string | null;
  headVersion: number | string;
};

const toShare = (row: ShareRow): StoredShare => ({
  ...row,
  version: row.version === null ? null : Number(row.version),
  headVersion: Number(row.headVersion),
});

/** The link whose secret has this SHA-256, or undefined. */
export async function findShareBySecretHash(db: DB, secretHash: string): Promise<StoredShare | undefined> {
  const row = await shareQuery(db).where('shares.secret_hash', '=', secretHash).executeTakeFirst();
  return row && toShare(row);
}

/** The link with this id, or undefined. */
export async function findShareById(db: DB, id: string): Promise<StoredShare | undefined> {
  const row = await shareQuery(db).where('shares.id', '=', id).executeTakeFirst();
  return row && toShare(row);
}

/**
 * The unrevoked links (expired ones too) of the namespaces where the user is a writer or above,
 * or of the one named, newest first.
 */
export async function listShares(db: DB, userId: string, namespace?: string): Promise<ListedShare[]> {
  let query = db
    .selectFrom('shares')
    .innerJoin('memberships', (join) =>
      join.onRef('memberships.namespace_id', '=', 'shares.namespace_id').on('memberships.user_id', '=', userId),
    )
    .innerJoin('namespaces', 'namespaces.id', 'shares.namespace_id')
    .innerJoin('spaces', 'spaces.id', 'shares.space_id')
    .innerJoin('users', 'users.id', 'shares.created_by')
    .select([
      'shares.id as id',
      'namespaces.name as namespace',
      'spaces.name as space',
      'shares.version as version',
      'shares.prefix as prefix',
      'users.username as createdBy',
      'shares.created_at as createdAt',
      'shares.expires_at as expiresAt',
      'shares.uses as uses',
      'shares.downloads as downloads',
      'shares.last_used_at as lastUsedAt',
    ])
    .where('memberships.role', 'in', ['writer', 'admin', 'owner'])
    .where('shares.revoked_at', 'is', null);
  if (namespace !== undefined) query = query.where('namespaces.name', '=', namespace);
  const rows = await query.orderBy('shares.created_at', 'desc').orderBy('shares.id', 'desc').execute();
  return rows.map((row) => ({
    ...row,
    version: row.version === null ? null : Number(row.version),
    uses: Number(row.uses),
    downloads: Number(row.downloads),
  }));
}

/** Revokes a link; false when it was revoked already. */
export async function revokeShare(db: DB, id: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('shares')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * Counts one request in the link's rate-limit window (a new window when the current one began
 * before `windowStart`), in one statement: answers the requests counted in the window and when it
 * began.
 */
export async function countShareRequest(
  db: DB,
  id: string,
  now: string,
  windowStart: string,
): Promise<{ count: number; startedAt: string }> {
  const stale = sql<boolean>`window_started_at is null or window_started_at <= ${windowStart}`;
  const row = await db
    .updateTable('shares')
    .set({
      window_uses: sql<number>`case when ${stale} then 1 else window_uses + 1 end`,
      window_started_at: sql<string>`case when ${stale} then ${now} else window_started_at end`,
    })
    .where('id', '=', id)
    .returning(['window_uses', 'window_started_at'])
    .executeTakeFirstOrThrow();
  return { count: Number(row.window_uses), startedAt: row.window_started_at ?? now };
}

/**
 * Logs a use of a link: one row per file it handed out a URL for (one row with no file for a
 * listing or a page), and counts it.
 */
export async function recordShareUse(
  db: DB,
  input: { shareId: string; files: readonly string[]; client: string; nowMs: number },
): Promise<void> {
  const now = new Date(input.nowMs).toISOString();
  const rows = (input.files.length === 0 ? [null] : input.files).map((file) => ({
    id: newId(input.nowMs),
    share_id: input.shareId,
    file,
    client: input.client,
    created_at: now,
  }));
  await db.transaction().execute(async (trx) => {
    for (const slice of chunks(rows, Math.floor(IN_LIST_CHUNK / 5)))
      await trx.insertInto('share_uses').values(slice).execute();
    await trx
      .updateTable('shares')
      .set({
        uses: sql<number>`uses + 1`,
        downloads: sql<number>`downloads + ${input.files.length}`,
        last_used_at: now,
      })
      .where('id', '=', input.shareId)
      .execute();
  });
}

/** Use rows looked up and deleted at once by pruneShareUses. */
const PRUNE_PAGE = 5000;

/**
 * Forgets the use log of every link before `beforeMs`, a page at a time; the links' counts and
 * last use (on their own rows) stay. Ids begin with their time (ids.ts), so the primary key
 * finds the old rows; `created_at` decides. The number of rows deleted.
 */
export async function pruneShareUses(db: DB, beforeMs: number): Promise<number> {
  const before = new Date(beforeMs).toISOString();
  const idFloor = newId(beforeMs).slice(0, 14); // `tttttttt-tttt-`: below every id made at or after beforeMs
  let deleted = 0;
  for (;;) {
    const page = await db
      .selectFrom('share_uses')
      .select('id')
      .where('id', '<', idFloor)
      .where('created_at', '<', before)
      .orderBy('id')
      .limit(PRUNE_PAGE)
      .execute();
    for (const slice of chunks(
      page.map((row) => row.id),
      IN_LIST_CHUNK,
    ))
      await db.deleteFrom('share_uses').where('id', 'in', slice).execute();
    deleted += page.length;
    if (page.length < PRUNE_PAGE) return deleted;
  }
}
