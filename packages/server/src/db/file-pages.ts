import { sql } from 'kysely';
import { fileQuery, type StoredFile, toFile } from './files.ts';
import type { DB } from './open.ts';

export interface FilePageQuery {
  /** The files after this name, in name order (the last name of the page before). */
  after?: string | undefined;
  /** Only names that start with this. */
  prefix?: string | undefined;
  limit: number;
}

/**
 * One page of a space's files in name order: at most `limit`, and whether more follow. Walks the
 * (space_id, name) index from `after`; `name > after` and the order are the same collation, so
 * pages neither skip nor repeat a name. The prefix is compared as the name's first characters (a
 * LIKE would need escaping, and SQLite's is case-insensitive).
 */
export async function listFilesPage(
  db: DB,
  spaceId: string,
  page: FilePageQuery,
): Promise<{ files: StoredFile[]; more: boolean }> {
  let query = fileQuery(db).where('files.space_id', '=', spaceId);
  if (page.after !== undefined) query = query.where('files.name', '>', page.after);
  if (page.prefix) {
    // Characters, as both engines count them in substr (code points, not UTF-16 units).
    const length = [...page.prefix].length;
    query = query.where(sql<boolean>`substr(${sql.ref('files.name')}, 1, ${length}) = ${page.prefix}`);
  }
  const rows = await query
    .orderBy('files.name')
    .limit(page.limit + 1)
    .execute();
  const more = rows.length > page.limit;
  return { files: rows.slice(0, page.limit).map(toFile), more };
}
