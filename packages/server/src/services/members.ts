import { DreamLakeError, ForbiddenError, NotFoundError } from '@dreamlake/presign';
import { nowIso, type ServerContext } from '../context.ts';
import { atLeast } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import type { Role } from '../db/schema.ts';
import { countOwners, findNamespace, roleIn, setMembership, type Namespace } from '../db/namespaces.ts';
import { findUserByName } from '../db/users.ts';

/** An organisation the caller belongs to (404 for one they do not, or a personal namespace). */
async function orgOf(ctx: ServerContext, user: AuthUser, name: string): Promise<{ org: Namespace; role: Role }> {
  const org = await findNamespace(ctx.db, name);
  const role = org?.kind === 'org' ? await roleIn(ctx.db, org.id, user.id) : null;
  if (!org || role === null) throw new NotFoundError(`organisation "${name}" not found`);
  return { org, role };
}

export async function listMembers(ctx: ServerContext, user: AuthUser, orgName: string) {
  const { org } = await orgOf(ctx, user, orgName);
  return ctx.db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['users.username as username', 'memberships.role as role'])
    .where('memberships.namespace_id', '=', org.id)
    .orderBy('users.username')
    .execute();
}

/**
 * Adds a member or changes a role. Admins manage writers, readers and admins; only an owner may
 * make or unmake an owner; the last owner cannot step down.
 */
export async function setMemberRole(ctx: ServerContext, user: AuthUser, orgName: string, username: string, role: Role): Promise<void> {
  const { org, role: callerRole } = await orgOf(ctx, user, orgName);
  if (!atLeast(callerRole, 'admin')) throw new ForbiddenError(`managing members of "${orgName}" needs the admin role`);
  const target = await findUserByName(ctx.db, username);
  if (!target) throw new NotFoundError(`user "${username}" not found`);
  const current = await roleIn(ctx.db, org.id, target.id);
  if ((role === 'owner' || current === 'owner') && callerRole !== 'owner') {
    throw new ForbiddenError('only an owner may grant or change the owner role');
  }
  if (current === 'owner' && role !== 'owner' && (await countOwners(ctx.db, org.id)) <= 1) {
    throw new DreamLakeError('conflict', `"${orgName}" must keep at least one owner`);
  }
  await setMembership(ctx.db, { namespaceId: org.id, userId: target.id, role, now: nowIso(ctx) });
}
