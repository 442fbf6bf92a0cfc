import { sql } from 'kysely';
import { chunks, IN_LIST_CHUNK } from './chunks.ts';
import { newId } from './ids.ts';
import type { DB } from './open.ts';
import { PREPARED_ROWS, preparedRows } from './prepared.ts';

/** An entry of a space's head (a `files` row), as a commit compares and moves it. */
export interface HeadEntry {
  name: string;
  hash: string;
  type: string;
  size: number;
  contentType: string;
  fromVersion: number;
}

/** A name a commit points at a proven blob. */
export interface EntryPut {
  name: string;
  hash: string;
  type: string;
  size: number;
  contentType: string;
}

const headColumns = [
  'name',
  'hash',
  'type',
  'size',
  'content_type as contentType',
  'from_version as fromVersion',
] as const;

type HeadRow = Omit<HeadEntry, 'size' | 'fromVersion'> & { size: number | string; fromVersion: number | string };
const toEntry = (row: HeadRow): HeadEntry => ({ ...row, size: Number(row.size), fromVersion: Number(row.fromVersion) });

/** `name` starts with `prefix` (characters, as both engines count them in substr). */
function startsWith(prefix: string) {
  return sql<boolean>`substr(${sql.ref('name')}, 1, ${[...prefix].length}) = ${prefix}`;
}

/** Head's entries of these names, in one query per IN_LIST_CHUNK names. */
export async function headEntriesByName(
  db: DB,
  spaceId: string,
  names: readonly string[],
): Promise<Map<string, HeadEntry>> {
  const found = new Map<string, HeadEntry>();
  for (const slice of chunks([...new Set(names)], IN_LIST_CHUNK)) {
    const rows = await db
      .selectFrom('files')
      .select(headColumns)
      .where('space_id', '=', spaceId)
      .where('name', 'in', slice)
      .execute();
    for (const row of rows) found.set(row.name, toEntry(row));
  }
  return found;
}

/** Head's entries whose name starts with `prefix`. */
export async function headEntriesUnder(db: DB, spaceId: string, prefix: string): Promise<HeadEntry[]> {
  const rows = await db
    .selectFrom('files')
    .select(headColumns)
    .where('space_id', '=', spaceId)
    .where(startsWith(prefix))
    .execute();
  return rows.map(toEntry);
}

/**
 * The names of `table` in the space that changed after version `parent`: head's entries written
 * after it (`files`), or entries that left head after it (`file_history`).
 */
function changedAfter(db: DB, table: 'files' | 'file_history', spaceId: string, parent: number) {
  const version = table === 'files' ? 'from_version' : 'to_version';
  return db.selectFrom(table).select('name').where('space_id', '=', spaceId).where(sql.ref(version), '>', parent);
}

/**
 * Which of these names, or names under these prefixes, changed after version `parent`: those with
 * an entry of head written after it, or an entry head no longer has that `parent` or a later
 * version still had. Sorted, at most `limit`.
 */
export async function changedSince(
  db: DB,
  spaceId: string,
  parent: number,
  names: readonly string[],
  prefixes: readonly string[],
  limit: number,
): Promise<string[]> {
  const found = new Set<string>();
  for (const slice of chunks([...new Set(names)], IN_LIST_CHUNK)) {
    for (const table of ['files', 'file_history'] as const) {
      const rows = await changedAfter(db, table, spaceId, parent).where('name', 'in', slice).execute();
      for (const row of rows) found.add(row.name);
    }
  }
  for (const prefix of prefixes) {
    for (const table of ['files', 'file_history'] as const) {
      const rows = await changedAfter(db, table, spaceId, parent)
        .where(startsWith(prefix))
        .orderBy('name')
        .limit(limit)
        .execute();
      for (const row of rows) found.add(row.name);
    }
  }
  return [...found].sort(byUtf8).slice(0, limit);
}

/** Names in the order of their UTF-8 bytes (the manifest's order). */
export function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Copies head's entries of these names into `file_history`, as part of every version up to
 * `toVersion` (exclusive); with `remove`, takes them out of head too.
 */
export async function retireEntries(
  db: DB,
  spaceId: string,
  names: readonly string[],
  toVersion: number,
  remove: boolean,
): Promise<void> {
  for (const slice of chunks([...new Set(names)], IN_LIST_CHUNK)) {
    await db
      .insertInto('file_history')
      .columns([
        'space_id',
        'name',
        'from_version',
        'to_version',
        'type',
        'size',
        'content_type',
        'hash',
        'uploaded_by',
        'created_at',
      ])
      .expression((eb) =>
        eb
          .selectFrom('files')
          .select([
            'space_id',
            'name',
            'from_version',
            sql<number>`cast(${toVersion} as integer)`.as('to_version'),
            'type',
            'size',
            'content_type',
            'hash',
            'uploaded_by',
            'created_at',
          ])
          .where('space_id', '=', spaceId)
          .where('name', 'in', slice),
      )
      .execute();
    if (remove) await db.deleteFrom('files').where('space_id', '=', spaceId).where('name', 'in', slice).execute();
  }
}

type FileRow = {
  id: string;
  space_id: string;
  name: string;
  type: string;
  size: number;
  content_type: string;
  hash: string;
  uploaded_by: string;
  created_at: string;
  updated_at: string;
  from_version: number;
};

/** Inserts head entries, or replaces the entry of a name head already has. */
const upsertEntries = preparedRows<FileRow>(
  [
    'id',
    'space_id',
    'name',
    'type',
    'size',
    'content_type',
    'hash',
    'uploaded_by',
    'created_at',
    'updated_at',
    'from_version',
  ],
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
          from_version: eb.ref('excluded.from_version'),
        })),
      ),
);

/** Writes these entries into head as written by `version` (names distinct; a name head has is replaced). */
export async function writeEntries(
  db: DB,
  spaceId: string,
  puts: readonly EntryPut[],
  version: number,
  uploadedBy: string,
  now: string,
): Promise<void> {
  const rows = puts.map(
    (put): FileRow => ({
      id: newId(),
      space_id: spaceId,
      name: put.name,
      type: put.type,
      size: put.size,
      content_type: put.contentType,
      hash: put.hash,
      uploaded_by: uploadedBy,
      created_at: now,
      updated_at: now,
      from_version: version,
    }),
  );
  for (const slice of chunks(rows, PREPARED_ROWS)) await upsertEntries(db, slice);
}

/** The entries version `version` had that head no longer has or has changed: what restoring it puts back. */
export async function entriesGoneSince(db: DB, spaceId: string, version: number): Promise<EntryPut[]> {
  const rows = await db
    .selectFrom('file_history')
    .select(['name', 'hash', 'type', 'size', 'content_type as contentType'])
    .where('space_id', '=', spaceId)
    .where('from_version', '<=', version)
    .where('to_version', '>', version)
    .execute();
  return rows.map((row) => ({ ...row, size: Number(row.size) }));
}

/** The names of head written after version `version` (added or changed since). */
export async function namesWrittenSince(db: DB, spaceId: string, version: number): Promise<string[]> {
  const rows = await changedAfter(db, 'files', spaceId, version).execute();
  return rows.map((row) => row.name);
}
