import { sql } from 'kysely';
import type { StoredFile } from './files.ts';
import type { Namespace } from './namespaces.ts';
import type { DB } from './open.ts';
import { preparedQuery } from './prepared.ts';
import type { Role } from './schema.ts';
import type { Space } from './spaces.ts';

export interface NamespaceAccessRow {
  namespace: Namespace;
  /** The user's role there, or null. */
  role: Role | null;
  /** The named space, when one was asked for and exists. */
  space: Space | undefined;
}

/** The namespace, the membership's role and the space, as accessOf reads them. */
const ACCESS_COLUMNS = [
  'namespaces.id as id',
  'namespaces.name as name',
  'namespaces.kind as kind',
  'memberships.role as role',
  'spaces.id as spaceId',
  'spaces.name as spaceName',
  'spaces.created_at as spaceCreatedAt',
] as const;

/** A namespace by name, the user's membership and the named space, as one query. */
function accessQuery(db: DB, name: string, userId: string, spaceName: string) {
  return db
    .selectFrom('namespaces')
    .leftJoin('memberships', (join) =>
      join.onRef('memberships.namespace_id', '=', 'namespaces.id').on('memberships.user_id', '=', userId),
    )
    .leftJoin('spaces', (join) =>
      join.onRef('spaces.namespace_id', '=', 'namespaces.id').on('spaces.name', '=', spaceName),
    )
    .select(ACCESS_COLUMNS)
    .where('namespaces.name', '=', name);
}

type AccessColumns = {
  id: string;
  name: string;
  kind: Namespace['kind'];
  role: Role | null;
  spaceId: string | null;
  spaceName: string | null;
  spaceCreatedAt: string | null;
};

function accessOf(row: AccessColumns): NamespaceAccessRow {
  const space =
    row.spaceId && row.spaceName && row.spaceCreatedAt
      ? { id: row.spaceId, namespaceId: row.id, name: row.spaceName, createdAt: row.spaceCreatedAt }
      : undefined;
  return { namespace: { id: row.id, name: row.name, kind: row.kind }, role: row.role ?? null, space };
}

const namespaceAccess = preparedQuery(3, accessQuery);

/** A namespace by name with the user's role in it and, when named, one of its spaces: one query. */
export async function findNamespaceAccess(
  db: DB,
  name: string,
  userId: string,
  spaceName?: string,
): Promise<NamespaceAccessRow | undefined> {
  // No space is named '' (names start with a letter or digit), so '' asks for none.
  const [row] = await namespaceAccess(db, name, userId, spaceName ?? '');
  return row && accessOf(row);
}

type FileColumns = {
  fileId: string | null;
  fileName: string | null;
  fileType: StoredFile['type'] | null;
  fileSize: number | string | null;
  fileContentType: string | null;
  fileUploadedBy: string | null;
  fileCreatedAt: string | null;
};

function fileOf(row: FileColumns, hash: string): StoredFile | undefined {
  return row.fileId &&
    row.fileName &&
    row.fileType &&
    row.fileContentType &&
    row.fileUploadedBy &&
    row.fileCreatedAt &&
    row.fileSize !== null
    ? {
        id: row.fileId,
        name: row.fileName,
        type: row.fileType,
        size: Number(row.fileSize),
        contentType: row.fileContentType,
        hash,
        uploadedBy: row.fileUploadedBy,
        createdAt: row.fileCreatedAt,
      }
    : undefined;
}

/**
 * The caller's name and token epoch, and from there accessQuery's namespace, membership and
 * space, and a file of that space with the hash: one row whenever the caller exists, the
 * namespace's columns null when it does not.
 */
const grantTarget = preparedQuery(
  5,
  (db, userId: string, name: string, memberId: string, spaceName: string, hash: string) =>
    db
      .selectFrom('users as caller')
      .leftJoin('namespaces', (join) => join.on('namespaces.name', '=', name))
      .leftJoin('memberships', (join) =>
        join.onRef('memberships.namespace_id', '=', 'namespaces.id').on('memberships.user_id', '=', memberId),
      )
      .leftJoin('spaces', (join) =>
        join.onRef('spaces.namespace_id', '=', 'namespaces.id').on('spaces.name', '=', spaceName),
      )
      .leftJoin('files', (join) => join.onRef('files.space_id', '=', 'spaces.id').on('files.hash', '=', hash))
      .leftJoin('users', 'users.id', 'files.uploaded_by')
      .select([
        'caller.username as callerName',
        'caller.token_epoch as callerEpoch',
        ...ACCESS_COLUMNS,
        'files.id as fileId',
        'files.name as fileName',
        'files.type as fileType',
        'files.size as fileSize',
        'files.content_type as fileContentType',
        'users.username as fileUploadedBy',
        'files.created_at as fileCreatedAt',
      ])
      .where('caller.id', '=', userId)
      // One row, by a literal LIMIT: with a bound one, SQLite (3.53, as better-sqlite3 builds it)
      // took some 70 µs to run this join, 10 µs with a literal one (measured alone, same rows);
      // without any, a space holding one hash under many names (empty files) would answer them all.
      .limit(sql.lit(1)),
);

/** What an upload grant needs to know, read in one query (see findGrantTarget). */
export interface GrantTarget {
  /** The caller's name and current token epoch; undefined when the user no longer exists. */
  caller: { username: string; tokenEpoch: number } | undefined;
  access: NamespaceAccessRow | undefined;
  file: StoredFile | undefined;
}

/**
 * What an upload grant needs, in one query: the caller's current token epoch (which ends a
 * session's JWTs at once), the namespace with the caller's role, the space if it exists, and a
 * file of that space with this hash if there is one (any one of several).
 */
export async function findGrantTarget(
  db: DB,
  where: { namespace: string; space: string; hash: string },
  userId: string,
): Promise<GrantTarget> {
  const [row] = await grantTarget(db, userId, where.namespace, userId, where.space, where.hash);
  if (!row) return { caller: undefined, access: undefined, file: undefined };
  const caller = { username: row.callerName, tokenEpoch: Number(row.callerEpoch) };
  if (row.id === null || row.name === null || row.kind === null) return { caller, access: undefined, file: undefined };
  const access = accessOf({ ...row, id: row.id, name: row.name, kind: row.kind });
  return { caller, access, file: fileOf(row, where.hash) };
}
