import { chunks, IN_LIST_CHUNK } from './chunks.ts';
import type { DB } from './open.ts';

export interface StoredFile {
  id: string;
  name: string;
  type: string;
  size: number;
  contentType: string;
  hash: string;
  uploadedBy: string;
  createdAt: string;
}

/** The columns of a file as the API shows it, its uploader's name joined in. */
export function fileQuery(db: DB) {
  return db
    .selectFrom('files')
    .innerJoin('users', 'users.id', 'files.uploaded_by')
    .select([
      'files.id as id',
      'files.name as name',
      'files.type as type',
      'files.size as size',
      'files.content_type as contentType',
      'files.hash as hash',
      'users.username as uploadedBy',
      'files.created_at as createdAt',
    ]);
}

type Row = Omit<StoredFile, 'size'> & { size: number | string };
export const toFile = (row: Row): StoredFile => ({ ...row, size: Number(row.size) });

export async function findFileByName(db: DB, spaceId: string, name: string): Promise<StoredFile | undefined> {
  const row = await fileQuery(db)
    .where('files.space_id', '=', spaceId)
    .where('files.name', '=', name)
    .executeTakeFirst();
  return row && toFile(row);
}

/**
 * Files of a space with any of these hashes, one per hash (the first by name), in one query per
 * IN_LIST_CHUNK hashes (looked up by hash and sorted here: with `order by name` SQLite
 * would walk the space's (space_id, name) index, a scan of the whole space).
 */
export async function findFilesByHashes(
  db: DB,
  spaceId: string,
  hashes: readonly string[],
): Promise<Map<string, StoredFile>> {
  const found = new Map<string, StoredFile>();
  for (const slice of chunks([...new Set(hashes)], IN_LIST_CHUNK)) {
    const rows = await fileQuery(db).where('files.space_id', '=', spaceId).where('files.hash', 'in', slice).execute();
    for (const row of rows) {
      const first = found.get(row.hash);
      if (!first || row.name < first.name) found.set(row.hash, toFile(row));
    }
  }
  return found;
}

/** Files of a space by name, in one query per IN_LIST_CHUNK names. */
export async function findFilesByNames(
  db: DB,
  spaceId: string,
  names: readonly string[],
): Promise<Map<string, StoredFile>> {
  const found = new Map<string, StoredFile>();
  for (const slice of chunks([...new Set(names)], IN_LIST_CHUNK)) {
    const rows = await fileQuery(db).where('files.space_id', '=', spaceId).where('files.name', 'in', slice).execute();
    for (const row of rows) found.set(row.name, toFile(row));
  }
  return found;
}

/**
 * Which of these hashes the space holds: named by head or by an older snapshot (`file_history`),
 * so the blob is kept in storage.
 */
export async function heldHashes(db: DB, spaceId: string, hashes: readonly string[]): Promise<Set<string>> {
  return new Set((await knownBlobs(db, spaceId, hashes)).keys());
}

/** A blob a space holds: its size and media type as indexed. */
export interface KnownBlob {
  size: number;
  contentType: string;
}

/** The blobs of these hashes the space holds, named by head or by an older snapshot (one per hash). */
export async function knownBlobs(db: DB, spaceId: string, hashes: readonly string[]): Promise<Map<string, KnownBlob>> {
  const found = new Map<string, KnownBlob>();
  for (const slice of chunks([...new Set(hashes)], IN_LIST_CHUNK)) {
    const head = await db
      .selectFrom('files')
      .select(['hash', 'size', 'content_type as contentType'])
      .where('space_id', '=', spaceId)
      .where('hash', 'in', slice)
      .execute();
    for (const row of head) found.set(row.hash, { size: Number(row.size), contentType: row.contentType });
    const missing = slice.filter((hash) => !found.has(hash));
    if (missing.length === 0) continue;
    const older = await db
      .selectFrom('file_history')
      .select(['hash', 'size', 'content_type as contentType'])
      .where('space_id', '=', spaceId)
      .where('hash', 'in', missing)
      .execute();
    for (const row of older) found.set(row.hash, { size: Number(row.size), contentType: row.contentType });
  }
  return found;
}

/**
 * Whether the blob is live in the space `space` of namespace `namespace`: named by head, by an
 * older snapshot (`file_history`), or by a put of a draft of that space.
 */
export async function blobIndexed(db: DB, blob: { namespace: string; space: string; hash: string }): Promise<boolean> {
  const head = await db
    .selectFrom('files')
    .innerJoin('spaces', 'spaces.id', 'files.space_id')
    .innerJoin('namespaces', 'namespaces.id', 'spaces.namespace_id')
    .select('files.id')
    .where('namespaces.name', '=', blob.namespace)
    .where('spaces.name', '=', blob.space)
    .where('files.hash', '=', blob.hash)
    .limit(1)
    .executeTakeFirst();
  if (head) return true;
  const older = await db
    .selectFrom('file_history')
    .innerJoin('spaces', 'spaces.id', 'file_history.space_id')
    .innerJoin('namespaces', 'namespaces.id', 'spaces.namespace_id')
    .select('file_history.name')
    .where('namespaces.name', '=', blob.namespace)
    .where('spaces.name', '=', blob.space)
    .where('file_history.hash', '=', blob.hash)
    .limit(1)
    .executeTakeFirst();
  if (older) return true;
  const drafted = await db
    .selectFrom('draft_entries')
    .innerJoin('drafts', 'drafts.id', 'draft_entries.draft_id')
    .innerJoin('namespaces', 'namespaces.id', 'drafts.namespace_id')
    .select('draft_entries.name')
    .where('namespaces.name', '=', blob.namespace)
    .where('drafts.space', '=', blob.space)
    .where('draft_entries.hash', '=', blob.hash)
    .limit(1)
    .executeTakeFirst();
  return drafted !== undefined;
}

/**
 * Bytes a namespace stores: each blob a snapshot of its spaces names (head or an older one), or a
 * put of one of its drafts (until the draft commits or is removed, the collection keeps the blob),
 * counted once per space (BSS keeps one blob per hash per space, however many names point at it).
 * Drafts name their space (it may not exist yet), so blobs are told apart by space name. Sums the
 * whole namespace: the quota reads the count each write keeps (namespaceUsage in
 * namespace-usage.ts), which must always equal this.
 */
export async function recountNamespaceUsage(db: DB, namespaceId: string): Promise<number> {
  const row = await db
    .selectFrom((eb) =>
      eb
        .selectFrom((inner) =>
          inner
            .selectFrom('files')
            .innerJoin('spaces', 'spaces.id', 'files.space_id')
            .select(['spaces.name as space', 'files.hash as hash', 'files.size as size'])
            .where('spaces.namespace_id', '=', namespaceId)
            .unionAll(
              inner
                .selectFrom('file_history')
                .innerJoin('spaces', 'spaces.id', 'file_history.space_id')
                .select(['spaces.name as space', 'file_history.hash as hash', 'file_history.size as size'])
                .where('spaces.namespace_id', '=', namespaceId),
            )
            .unionAll(
              inner
                .selectFrom('draft_entries')
                .innerJoin('drafts', 'drafts.id', 'draft_entries.draft_id')
                .select(['drafts.space as space', 'draft_entries.hash as hash', 'draft_entries.size as size'])
                .where('drafts.namespace_id', '=', namespaceId)
                .where('draft_entries.op', '=', 'put')
                .where('draft_entries.hash', 'is not', null)
                .$narrowType<{ hash: string; size: number | string }>(),
            )
            .as('named'),
        )
        .select((inner) => ['named.space', 'named.hash', inner.fn.max('named.size').as('size')])
        .groupBy(['named.space', 'named.hash'])
        .as('blobs'),
    )
    .select((eb) => eb.fn.sum<number | string | null>('blobs.size').as('total'))
    .executeTakeFirst();
  return Number(row?.total ?? 0);
}
