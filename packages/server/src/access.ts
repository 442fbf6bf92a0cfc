import { DreamLakeError } from '@dreamlake/presign';
import { findNamespaceAccess, type NamespaceAccessRow } from './db/access.ts';
import type { Namespace } from './db/namespaces.ts';
import type { DB } from './db/open.ts';
import type { Role } from './db/schema.ts';
import type { Space } from './db/spaces.ts';

const RANK: Record<Role, number> = { reader: 1, writer: 2, admin: 3, owner: 4 };

export function atLeast(role: Role | null, min: Role): boolean {
  return role !== null && RANK[role] >= RANK[min];
}

export interface NamespaceAccess {
  namespace: Namespace;
  role: Role;
}

/** What a caller outside a namespace is told: 404 so its existence is not revealed, or 403. */
export type Outsider = 'not_found' | 'forbidden';

/**
 * The caller's role in a namespace, at least `min`, and the named space if it exists (one query).
 * A namespace the caller has no role in (or that does not exist) answers `outsider`: 404 by
 * default, 403 where the contract asks for it (upload grants). A role too low is 403.
 */
export async function requireAccess(
  db: DB,
  userId: string,
  where: { namespace: string; space?: string },
  min: Role,
  outsider: Outsider = 'not_found',
): Promise<NamespaceAccess & { space: Space | undefined }> {
  return checkAccess(await findNamespaceAccess(db, where.namespace, userId, where.space), where, min, outsider);
}

/** requireAccess on a namespace already looked up (see findGrantTarget). */
export function checkAccess(
  found: NamespaceAccessRow | undefined,
  where: { namespace: string },
  min: Role,
  outsider: Outsider = 'not_found',
): NamespaceAccess & { space: Space | undefined } {
  if (!found || found.role === null) {
    if (outsider === 'forbidden')
      throw new DreamLakeError('forbidden', `you may not write to namespace "${where.namespace}"`);
    throw new DreamLakeError('not_found', `namespace "${where.namespace}" not found`);
  }
  if (!atLeast(found.role, min))
    throw new DreamLakeError('forbidden', `this needs the ${min} role in "${where.namespace}"; you are ${found.role}`);
  return { namespace: found.namespace, role: found.role, space: found.space };
}

/** The caller's role in a namespace, at least `min` (see requireAccess). */
export async function requireNamespaceRole(
  db: DB,
  userId: string,
  name: string,
  min: Role,
  outsider: Outsider = 'not_found',
): Promise<NamespaceAccess> {
  const { namespace, role } = await requireAccess(db, userId, { namespace: name }, min, outsider);
  return { namespace, role };
}

/** As requireAccess, and the space must exist (404 otherwise). */
export async function requireSpaceRole(
  db: DB,
  userId: string,
  namespaceName: string,
  spaceName: string,
  min: Role,
): Promise<NamespaceAccess & { space: Space }> {
  const access = await requireAccess(db, userId, { namespace: namespaceName, space: spaceName }, min);
  if (!access.space) throw new DreamLakeError('not_found', `space "${namespaceName}/${spaceName}" not found`);
  return { ...access, space: access.space };
}
