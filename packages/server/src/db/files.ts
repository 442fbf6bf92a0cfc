import { chunks, IN_LIST_CHUNK } from './chunks.ts';
import { newId } from './ids.ts';
import type { DB } from './open.ts';
import { PREPARED_ROWS, preparedRows } from './prepared.ts';

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

/** Which of these hashes the space's index holds under any name. */
export async function heldHashes(db: DB, spaceId: string, hashes: readonly string[]): Promise<Set<string>> {
  const held = new Set<string>();
  for (const slice of chunks([...new Set(hashes)], IN_LIST_CHUNK)) {
    const rows = await db
      .selectFrom('files')
      .select('hash')
      .distinct()
      .where('space_id', '=', spaceId)
      .where('hash', 'in', slice)
      .execute();
    for (const row of rows) held.add(row.hash);
  }
  return held;
}

/** How many names of the space point at each of these hashes (hashes no name points at are left out). */
export async function namesPerHash(db: DB, spaceId: string, hashes: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const slice of chunks([...new Set(hashes)], IN_LIST_CHUNK)) {
    const rows = await db
      .selectFrom('files')
      .select((eb) => ['hash', eb.fn.countAll<number | string>().as('names')])
      .where('space_id', '=', spaceId)
      .where('hash', 'in', slice)
      .groupBy('hash')
      .execute();
    for (const row of rows) counts.set(row.hash, Number(row.names));
  }
  return counts;
}

/** Whether any name in the space `space` of namespace `namespace` points at the blob. */
export async function blobIndexed(db: DB, blob: { namespace: string; space: string; hash: string }): Promise<boolean> {
  const row = await db
    .selectFrom('files')
    .innerJoin('spaces', 'spaces.id', 'files.space_id')
    .innerJoin('namespaces', 'namespaces.id', 'spaces.namespace_id')
    .select('files.id')
    .where('namespaces.name', '=', blob.namespace)
    .where('spaces.name', '=', blob.space)
    .where('files.hash', '=', blob.hash)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export interface PutFile {
  spaceId: string;
  name: string;
  type: string;
  size: number;
  contentType: string;
  hash: string;
  uploadedBy: string;
  now: string;
}

/** Points a name at a blob: a new entry, or the existing entry of that name replaced. */
export async function putFile(db: DB, input: PutFile): Promise<void> {
  await putFiles(db, [input]);
}

type FileRow = ReturnType<typeof fileRow>;

function fileRow(input: PutFile) {
  return {
    id: newId(),
    space_id: input.spaceId,
    name: input.name,
    type: input.type,
    size: input.size,
    content_type: input.contentType,
    hash: input.hash,
    uploaded_by: input.uploadedBy,
    created_at: input.now,
    updated_at: input.now,
  };
}

/** Inserts rows, or replaces the entry of a name the space already has. */
const upsertFiles = preparedRows<FileRow>(
  ['id', 'space_id', 'name', 'type', 'size', 'content_type', 'hash', 'uploaded_by', 'created_at', 'updated_at'],
  (db, rows) =>
    db
      .insertInto('files')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['space_id', 'name']).doUpdateSet((eb) => ({
          type: eb.ref('excluded.type'),
          size: eb.ref('excluded.size'),
          content_type: eb.ref('excluded.content_type'),
          hash: eb.ref('excluded.hash'),
          uploaded_by: eb.ref('excluded.uploaded_by'),
          created_at: eb.ref('excluded.created_at'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      ),
);

/**
 * Points many names at their blobs in one transaction, as multi-row upserts. The names must be
 * distinct within one call (PostgreSQL refuses to update a row twice in one statement).
 */
export async function putFiles(db: DB, inputs: readonly PutFile[]): Promise<void> {
  const slices = chunks(inputs.map(fileRow), PREPARED_ROWS);
  if (slices.length <= 1) return upsertFiles(db, slices[0] ?? []);
  await db.transaction().execute((trx) => writeFiles(trx, inputs));
}

/** `putFiles` inside a transaction the caller holds. */
export async function writeFiles(trx: DB, inputs: readonly PutFile[]): Promise<void> {
  for (const slice of chunks(inputs.map(fileRow), PREPARED_ROWS)) await upsertFiles(trx, slice);
}

/**
 * Bytes a namespace stores: each blob its index points at counted once (BSS keeps one blob per
 * hash per space, however many names point at it).
 */
export async function namespaceUsage(db: DB, namespaceId: string): Promise<number> {
  const row = await db
    .selectFrom((eb) =>
      eb
        .selectFrom('files')
        .innerJoin('spaces', 'spaces.id', 'files.space_id')
        .select((inner) => ['files.space_id', 'files.hash', inner.fn.max('files.size').as('size')])
        .where('spaces.namespace_id', '=', namespaceId)
        .groupBy(['files.space_id', 'files.hash'])
        .as('blobs'),
    )
    .select((eb) => eb.fn.sum<number | string | null>('blobs.size').as('total'))
    .executeTakeFirst();
  return Number(row?.total ?? 0);
}
