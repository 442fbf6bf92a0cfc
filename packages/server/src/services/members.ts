import { DreamLakeError } from '@dreamlake/presign';
import { atLeast } from '../access.ts';
import type { AuthUser } from '../auth/authenticate.ts';
import { nowIso, type ServerContext } from '../context.ts';
import {
  countOwners,
  findNamespace,
  lockNamespace,
  type Namespace,
  removeMembership,
  roleIn,
  setMembership,
} from '../db/namespaces.ts';
import type { DB } from '../db/open.ts';
import type { Role } from '../db/schema.ts';
import { findUserByName } from '../db/users.ts';

const orgNotFound = (name: string) => new DreamLakeError('not_found', `organisation "${name}" not found`);

/** An organisation the caller belongs to (404 for one they do not, or a personal namespace). */
async function orgOf(db: DB, user: AuthUser, name: string): Promise<{ org: Namespace; role: Role }> {
  const org = await findNamespace(db, name);
  const role = org?.kind === 'org' ? await roleIn(db, org.id, user.id) : null;
  if (!org || role === null) throw orgNotFound(name);
  return { org, role };
}

export async function listMembers(ctx: ServerContext, user: AuthUser, orgName: string) {
  const { org } = await orgOf(ctx.db, user, orgName);
  return ctx.db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['users.username as username', 'memberships.role as role'])
    .where('memberships.namespace_id', '=', org.id)
    .orderBy('users.username')
    .execute();
}

/**
 * Adds a member, changes a role, or (role null) removes a member. Admins manage writers, readers
 * and admins; only an owner may make or unmake an owner; anyone may leave; the last owner cannot
 * step down or leave. Runs in one transaction holding the organisation's lock, so two concurrent
 * demotions or removals cannot both pass the last-owner check. The caller is checked before the
 * target is looked up: someone who may not manage members learns nothing about who exists.
 */
async function changeMembership(
  ctx: ServerContext,
  user: AuthUser,
  orgName: string,
  username: string,
  role: Role | null,
): Promise<void> {
  const org = await findNamespace(ctx.db, orgName);
  if (org?.kind !== 'org') throw orgNotFound(orgName);
  await ctx.db.transaction().execute(async (trx) => {
    await lockNamespace(trx, org.id);
    const callerRole = await roleIn(trx, org.id, user.id);
    if (callerRole === null) throw orgNotFound(orgName);
    const leaving = role === null && username === user.username;
    if (!leaving && !atLeast(callerRole, 'admin'))
      throw new DreamLakeError('forbidden', `managing members of "${orgName}" needs the admin role`);
    const target = await findUserByName(trx, username);
    const current = target ? await roleIn(trx, org.id, target.id) : null;
    if (!target || (role === null && current === null))
      throw new DreamLakeError('not_found', `"${username}" is not a user${role === null ? ` in "${orgName}"` : ''}`);
    if ((role === 'owner' || current === 'owner') && callerRole !== 'owner') {
      throw new DreamLakeError('forbidden', 'only an owner may grant or change the owner role');
    }
    if (current === 'owner' && role !== 'owner' && (await countOwners(trx, org.id)) <= 1) {
      throw new DreamLakeError('conflict', `"${orgName}" must keep at least one owner`);
    }
    if (role === null) await removeMembership(trx, org.id, target.id);
    else await setMembership(trx, { namespaceId: org.id, userId: target.id, role, now: nowIso(ctx) });
  });
}

export function setMemberRole(
  ctx: ServerContext,
  user: AuthUser,
  orgName: string,
  username: string,
  role: Role,
): Promise<void> {
  return changeMembership(ctx, user, orgName, username, role);
}

export function removeMember(ctx: ServerContext, user: AuthUser, orgName: string, username: string): Promise<void> {
  return changeMembership(ctx, user, orgName, username, null);
}
