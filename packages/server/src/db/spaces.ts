import { DreamLakeError } from '@dreamlake/presign';
import { isUniqueViolation } from './errors.ts';
import { newId } from './ids.ts';
import type { DB } from './open.ts';

export interface Space {
  id: string;
  namespaceId: string;
  name: string;
  createdAt: string;
}

const columns = ['id', 'namespace_id as namespaceId', 'name', 'created_at as createdAt'] as const;

export async function findSpace(db: DB, namespaceId: string, name: string): Promise<Space | undefined> {
  return db
    .selectFrom('spaces')
    .select(columns)
    .where('namespace_id', '=', namespaceId)
    .where('name', '=', name)
    .executeTakeFirst();
}

type NewSpace = { namespaceId: string; name: string; createdBy: string; now: string };

function row(input: NewSpace) {
  return {
    id: newId(),
    namespace_id: input.namespaceId,
    name: input.name,
    created_by: input.createdBy,
    created_at: input.now,
  };
}

/** Creates a space; an existing name in that namespace is a conflict. */
export async function createSpace(db: DB, input: NewSpace): Promise<Space> {
  const values = row(input);
  try {
    await db.insertInto('spaces').values(values).execute();
  } catch (error) {
    if (isUniqueViolation(error)) throw new DreamLakeError('conflict', `space "${input.name}" already exists`);
    throw error;
  }
  return { id: values.id, namespaceId: input.namespaceId, name: input.name, createdAt: input.now };
}

/** The space, created first when missing (safe when two requests race to create it). */
export async function ensureSpace(db: DB, input: NewSpace): Promise<Space> {
  const existing = await findSpace(db, input.namespaceId, input.name);
  if (existing) return existing;
  await db
    .insertInto('spaces')
    .values(row(input))
    .onConflict((oc) => oc.columns(['namespace_id', 'name']).doNothing())
    .execute();
  const space = await findSpace(db, input.namespaceId, input.name);
  if (!space) throw new Error(`space ${input.name} vanished after creation`);
  return space;
}

export async function listSpaces(db: DB, namespaceId: string): Promise<Space[]> {
  return db.selectFrom('spaces').select(columns).where('namespace_id', '=', namespaceId).orderBy('name').execute();
}
