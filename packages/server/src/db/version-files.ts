import { PostgresAdapter, sql } from 'kysely';
import { chunks, IN_LIST_CHUNK } from './chunks.ts';
import type { FilePageQuery } from './file-pages.ts';
import { fileQuery, type StoredFile, toFile } from './files.ts';
import type { DB } from './open.ts';

/**
 * The entries of one version of a space, read from the version ranges: version v is the `files`
 * rows with from_version <= v and the `file_history` rows with from_version <= v < to_version.
 * A name has at most one entry per version, so the two halves never overlap.
 */

/** The `files` half of version `version`, as the API shows a file (uploader's name joined in). */
function headHalf(db: DB, spaceId: string, version: number) {
  return fileQuery(db).where('files.space_id', '=', spaceId).where('files.from_version', '<=', version);
}

/** The `file_history` half of version `version` (a history row has no id: the API shows none). */
function historyHalf(db: DB, spaceId: string, version: number) {
  return db
    .selectFrom('file_history')
    .innerJoin('users', 'users.id', 'file_history.uploaded_by')
    .select([
      sql<string>`''`.as('id'),
      'file_history.name as name',
      'file_history.type as type',
      'file_history.size as size',
      'file_history.content_type as contentType',
      'file_history.hash as hash',
      'users.username as uploadedBy',
      'file_history.created_at as createdAt',
    ])
    .where('file_history.space_id', '=', spaceId)
    .where('file_history.from_version', '<=', version)
    .where('file_history.to_version', '>', version);
}

/** `name > after` and the prefix test of `listFilesPage`, on the name column of `table`. */
function nameFilter(table: 'files' | 'file_history', page: Omit<FilePageQuery, 'limit'>) {
  const name = sql.ref(`${table}.name`);
  const parts = [];
  if (page.after !== undefined) parts.push(sql`${name} > ${page.after}`);
  if (page.prefix) parts.push(sql`substr(${name}, 1, ${[...page.prefix].length}) = ${page.prefix}`);
  return parts.length === 0 ? sql<boolean>`1 = 1` : sql<boolean>`${sql.join(parts, sql` and `)}`;
}

/**
 * One page of version `version` of a space in name order (the order and cursor of
 * `listFilesPage`, so paging neither skips nor repeats a name): each half walks its
 * (space_id, name) index from `after` for at most limit + 1 rows, and the two are merged.
 */
export async function listVersionFilesPage(
  db: DB,
  spaceId: string,
  version: number,
  page: FilePageQuery,
): Promise<{ files: StoredFile[]; more: boolean }> {
  if (version === 0) return { files: [], more: false };
  const take = page.limit + 1;
  const head = headHalf(db, spaceId, version).where(nameFilter('files', page)).orderBy('files.name').limit(take);
  const history = historyHalf(db, spaceId, version)
    .where(nameFilter('file_history', page))
    .orderBy('file_history.name')
    .limit(take);
  const rows = await db
    .selectFrom(head.as('h'))
    .selectAll()
    .unionAll(db.selectFrom(history.as('o')).selectAll())
    .orderBy('name')
    .limit(take)
    .execute();
  const more = rows.length > page.limit;
  return { files: rows.slice(0, page.limit).map(toFile), more };
}

/** Entries of version `version` by name, in one query per IN_LIST_CHUNK names. */
export async function findVersionFilesByNames(
  db: DB,
  spaceId: string,
  version: number,
  names: readonly string[],
): Promise<Map<string, StoredFile>> {
  const found = new Map<string, StoredFile>();
  if (version === 0) return found;
  for (const slice of chunks([...new Set(names)], IN_LIST_CHUNK)) {
    const rows = await headHalf(db, spaceId, version)
      .where('files.name', 'in', slice)
      .unionAll(historyHalf(db, spaceId, version).where('file_history.name', 'in', slice))
      .execute();
    for (const row of rows) found.set(row.name, toFile(row));
  }
  return found;
}

/**
 * Names whose entry may differ between versions `low` < `high`: those of a row whose range starts
 * or ends in (low, high]. A page of them in name order after `after`, and whether more follow.
 * Reads the rows those versions wrote or ended (indexes by from_version and to_version), never
 * the entries both versions share.
 */
export async function changedNamesPage(
  db: DB,
  spaceId: string,
  low: number,
  high: number,
  page: { after?: string | undefined; limit: number },
): Promise<{ names: string[]; more: boolean }> {
  const after = (table: 'files' | 'file_history') => nameFilter(table, { after: page.after });
  const started = db
    .selectFrom('files')
    .select('files.name as name')
    .where('files.space_id', '=', spaceId)
    .where('files.from_version', '>', low)
    .where('files.from_version', '<=', high)
    .where(after('files'))
    .union(
      db
        .selectFrom('file_history')
        .select('file_history.name as name')
        .where('file_history.space_id', '=', spaceId)
        .where('file_history.from_version', '>', low)
        .where('file_history.from_version', '<=', high)
        // Always true (to_version > from_version), but it keeps SQLite off the primary key, which
        // covers the other columns and would be walked for the whole space's history.
        .where('file_history.to_version', '>', low)
        .where(after('file_history')),
    )
    .union(
      db
        .selectFrom('file_history')
        .select('file_history.name as name')
        .where('file_history.space_id', '=', spaceId)
        .where('file_history.to_version', '>', low)
        .where('file_history.to_version', '<=', high)
        .where(after('file_history')),
    )
    .orderBy('name')
    .limit(page.limit + 1);
  const rows = await started.execute();
  const more = rows.length > page.limit;
  return { names: rows.slice(0, page.limit).map((r) => r.name), more };
}

/** One entry of a manifest: what manifestHash hashes. */
export interface ManifestEntry {
  name: string;
  hash: string;
  size: number;
  type: string;
  contentType: string;
}

/** Whether `db` runs on PostgreSQL (its transactions share the dialect's adapter). */
export function isPostgres(db: DB): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

type ManifestRow = { name: string; hash: string; size: number | string; type: string; content_type: string };
const toEntry = (r: ManifestRow): ManifestEntry => ({
  name: r.name,
  hash: r.hash,
  size: Number(r.size),
  type: r.type,
  contentType: r.content_type,
});

/**
 * Hands the entries of version `version` to `onPage`, `pageSize` at a time, in the byte order of
 * their names' UTF-8 — never the whole manifest at once. SQLite compares text with memcmp (its
 * BINARY collation), so pages walk the name indexes from the last name; PostgreSQL sorts once,
 * `collate "C"`, through a cursor in one transaction (its collation of the column may be a
 * locale's, and a page per sort would sort the space again for each page).
 */
export async function forEachManifestPage(
  db: DB,
  spaceId: string,
  version: number,
  pageSize: number,
  onPage: (entries: ManifestEntry[]) => void,
): Promise<void> {
  if (version === 0) return;
  if (isPostgres(db)) {
    const read = async (trx: DB) => {
      const cursor = sql.id(`manifest_${spaceId.replace(/[^A-Za-z0-9]/g, '')}_${version}`);
      await sql`declare ${cursor} no scroll cursor for
        select * from (
          select name, hash, size, type, content_type from files
          where space_id = ${sql.lit(spaceId)} and from_version <= ${sql.lit(version)}
          union all
          select name, hash, size, type, content_type from file_history
          where space_id = ${sql.lit(spaceId)} and from_version <= ${sql.lit(version)} and to_version > ${sql.lit(version)}
        ) manifest
        order by name collate "C"`.execute(trx);
      try {
        for (;;) {
          const { rows } = await sql<ManifestRow>`fetch forward ${sql.lit(pageSize)} from ${cursor}`.execute(trx);
          if (rows.length > 0) onPage(rows.map(toEntry));
          if (rows.length < pageSize) break;
        }
      } finally {
        await sql`close ${cursor}`.execute(trx);
      }
    };
    if (db.isTransaction) await read(db);
    else await db.transaction().execute(read);
    return;
  }
  let after: string | undefined;
  for (;;) {
    const head = db
      .selectFrom('files')
      .select(['name', 'hash', 'size', 'type', 'content_type'])
      .where('space_id', '=', spaceId)
      .where('from_version', '<=', version)
      .where(nameFilter('files', { after }))
      .orderBy('name')
      .limit(pageSize);
    const history = db
      .selectFrom('file_history')
      .select(['name', 'hash', 'size', 'type', 'content_type'])
      .where('space_id', '=', spaceId)
      .where('from_version', '<=', version)
      .where('to_version', '>', version)
      .where(nameFilter('file_history', { after }))
      .orderBy('name')
      .limit(pageSize);
    const rows = await db
      .selectFrom(head.as('h'))
      .selectAll()
      .unionAll(db.selectFrom(history.as('o')).selectAll())
      .orderBy('name')
      .limit(pageSize)
      .execute();
    if (rows.length > 0) onPage(rows.map(toEntry));
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1]?.name;
  }
}
