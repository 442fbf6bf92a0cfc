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
    .select([
      'namespaces.id as id',
      'namespaces.name as name',
      'namespaces.kind as kind',
      'memberships.role as role',
      'spaces.id as spaceId',
      'spaces.name as spaceName',
      'spaces.created_at as spaceCreatedAt',
    ])
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

const grantTarget = preparedQuery(4, (db, name: string, userId: string, spaceName: string, hash: string) =>
  accessQuery(db, name, userId, spaceName)
    .leftJoin('files', (join) => join.onRef('files.space_id', '=', 'spaces.id').on('files.hash', '=', hash))
    .leftJoin('users', 'users.id', 'files.uploaded_by')
    .select([
      'files.id as fileId',
      'files.name as fileName',
      'files.type as fileType',
      'files.size as fileSize',
      'files.content_type as fileContentType',
      'users.username as fileUploadedBy',
      'files.created_at as fileCreatedAt',
    ])
    .limit(1),
);

/**
 * What an upload grant needs, in one query: the namespace with the user's role, the space if it
 * exists, and a file of that space with this hash if there is one (any one of several).
 */
export async function findGrantTarget(
  db: DB,
  where: { namespace: string; space: string; hash: string },
  userId: string,
): Promise<{ access: NamespaceAccessRow | undefined; file: StoredFile | undefined }> {
  const [row] = await grantTarget(db, where.namespace, userId, where.space, where.hash);
  if (!row) return { access: undefined, file: undefined };
  const file =
    row.fileId &&
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
          hash: where.hash,
          uploadedBy: row.fileUploadedBy,
          createdAt: row.fileCreatedAt,
        }
      : undefined;
  return { access: accessOf(row), file };
}
