import { DreamLakeError } from '@dreamlake/presign';
import { isUniqueViolation } from './errors.ts';
import { newId } from './ids.ts';
import type { DB } from './open.ts';
import type { NamespaceKind, Role } from './schema.ts';

export interface Namespace {
  id: string;
  name: string;
  kind: NamespaceKind;
}

export async function findNamespace(db: DB, name: string): Promise<Namespace | undefined> {
  return db.selectFrom('namespaces').select(['id', 'name', 'kind']).where('name', '=', name).executeTakeFirst();
}

export async function roleIn(db: DB, namespaceId: string, userId: string): Promise<Role | null> {
  const row = await db
    .selectFrom('memberships')
    .select('role')
    .where('namespace_id', '=', namespaceId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.role ?? null;
}

/** `namespaces.created_by` (migration 2026-12-06-001): who created an organisation. */
const withCreator = (db: DB) => db.withTables<{ namespaces: { created_by: string | null } }>();

/**
 * Creates an organisation with its creator as owner; a taken name is a conflict, and a creator
 * who already created `maxOrgs` organisations is refused (403 `forbidden`, `details.maxOrgs`).
 * The creator's personal namespace is locked while counting, so requests made at once cannot
 * pass the cap together.
 */
export async function createOrg(
  db: DB,
  input: { name: string; ownerId: string; ownerName: string; now: string; maxOrgs: number },
): Promise<Namespace> {
  const org: Namespace = { id: newId(), name: input.name, kind: 'org' };
  try {
    await db.transaction().execute(async (trx) => {
      await lockNamespaceNamed(trx, input.ownerName);
      const created = await withCreator(trx)
        .selectFrom('namespaces')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('created_by', '=', input.ownerId)
        .where('kind', '=', 'org')
        .executeTakeFirstOrThrow();
      if (Number(created.n) >= input.maxOrgs) {
        throw new DreamLakeError('forbidden', `a user may create at most ${input.maxOrgs} organisations`, {
          maxOrgs: input.maxOrgs,
        });
      }
      await withCreator(trx)
        .insertInto('namespaces')
        .values({ id: org.id, name: org.name, kind: 'org', created_at: input.now, created_by: input.ownerId })
        .execute();
      await trx
        .insertInto('memberships')
        .values({ namespace_id: org.id, user_id: input.ownerId, role: 'owner', created_at: input.now })
        .execute();
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new DreamLakeError('conflict', `the name "${input.name}" is taken`);
    throw error;
  }
  return org;
}

/**
 * Takes the write lock on one namespace for the rest of the transaction: a no-op write, so
 * PostgreSQL locks the row until commit and SQLite takes its write lock at once (the first
 * statement of the transaction writes), as `SELECT … FOR UPDATE` and `BEGIN IMMEDIATE` would.
 * Membership changes of one organisation then run one after the other.
 */
export async function lockNamespace(trx: DB, namespaceId: string): Promise<void> {
  await trx
    .updateTable('namespaces')
    .set((eb) => ({ kind: eb.ref('kind') }))
    .where('id', '=', namespaceId)
    .execute();
}

/** `lockNamespace` by name (the collection knows blobs by namespace name). */
export async function lockNamespaceNamed(trx: DB, name: string): Promise<void> {
  await trx
    .updateTable('namespaces')
    .set((eb) => ({ kind: eb.ref('kind') }))
    .where('name', '=', name)
    .execute();
}

export async function removeMembership(db: DB, namespaceId: string, userId: string): Promise<void> {
  await db.deleteFrom('memberships').where('namespace_id', '=', namespaceId).where('user_id', '=', userId).execute();
}

/** Adds a member or changes their role. */
export async function setMembership(
  db: DB,
  input: { namespaceId: string; userId: string; role: Role; now: string },
): Promise<void> {
  await db
    .insertInto('memberships')
    .values({ namespace_id: input.namespaceId, user_id: input.userId, role: input.role, created_at: input.now })
    .onConflict((oc) => oc.columns(['namespace_id', 'user_id']).doUpdateSet({ role: input.role }))
    .execute();
}

export async function countOwners(db: DB, namespaceId: string): Promise<number> {
  const row = await db
    .selectFrom('memberships')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('namespace_id', '=', namespaceId)
    .where('role', '=', 'owner')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function namespacesOf(
  db: DB,
  userId: string,
): Promise<Array<{ name: string; kind: NamespaceKind; role: Role }>> {
  return db
    .selectFrom('memberships')
    .innerJoin('namespaces', 'namespaces.id', 'memberships.namespace_id')
    .select(['namespaces.name as name', 'namespaces.kind as kind', 'memberships.role as role'])
    .where('memberships.user_id', '=', userId)
    .orderBy('namespaces.kind', 'desc')
    .orderBy('namespaces.name')
    .execute();
}
