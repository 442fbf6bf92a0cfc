import { ForbiddenError, NotFoundError } from '@dreamlake/presign';
import type { DB } from './db/open.ts';
import type { Role } from './db/schema.ts';
import { findNamespace, roleIn, type Namespace } from './db/namespaces.ts';
import { findSpace, type Space } from './db/spaces.ts';

const RANK: Record<Role, number> = { reader: 1, writer: 2, admin: 3, owner: 4 };

export function atLeast(role: Role | null, min: Role): boolean {
  return role !== null && RANK[role] >= RANK[min];
}

export interface NamespaceAccess {
  namespace: Namespace;
  role: Role;
}

/**
 * The caller's role in a namespace, at least `min`. A namespace the caller has no role in (or
 * that does not exist) answers `outsider`: 404 by default so its existence is not revealed, 403
 * where the contract asks for it (upload grants). A role too low is 403.
 */
export async function requireNamespaceRole(
  db: DB,
  userId: string,
  name: string,
  min: Role,
  outsider: 'not_found' | 'forbidden' = 'not_found',
): Promise<NamespaceAccess> {
  const namespace = await findNamespace(db, name);
  const role = namespace ? await roleIn(db, namespace.id, userId) : null;
  if (!namespace || role === null) {
    if (outsider === 'forbidden') throw new ForbiddenError(`you may not write to namespace "${name}"`);
    throw new NotFoundError(`namespace "${name}" not found`);
  }
  if (!atLeast(role, min)) throw new ForbiddenError(`this needs the ${min} role in "${name}"; you are ${role}`);
  return { namespace, role };
}

/** As requireNamespaceRole, plus the space, which must exist (404 otherwise). */
export async function requireSpaceRole(
  db: DB,
  userId: string,
  namespaceName: string,
  spaceName: string,
  min: Role,
): Promise<NamespaceAccess & { space: Space }> {
  const access = await requireNamespaceRole(db, userId, namespaceName, min);
  const space = await findSpace(db, access.namespace.id, spaceName);
  if (!space) throw new NotFoundError(`space "${namespaceName}/${spaceName}" not found`);
  return { ...access, space };
}
