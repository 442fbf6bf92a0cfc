import type { DB } from './open.ts';
import { newId } from './ids.ts';

export interface StoredFile {
  id: string;
  name: string;
  type: string;
  size: number;
  contentType: string;
  hash: string;
  uploadedBy: string;
  createdAt: string;
}

function query(db: DB) {
  return db
    .selectFrom('files')
    .innerJoin('users', 'users.id', 'files.uploaded_by')
    .select([
      'files.id as id',
      'files.name as name',
      'files.type as type',
      'files.size as size',
      'files.content_type as contentType',
      'files.hash as hash',
      'users.username as uploadedBy',
      'files.created_at as createdAt',
    ]);
}

type Row = Omit<StoredFile, 'size'> & { size: number | string };
const toFile = (row: Row): StoredFile => ({ ...row, size: Number(row.size) });

export async function findFileByName(db: DB, spaceId: string, name: string): Promise<StoredFile | undefined> {
  const row = await query(db).where('files.space_id', '=', spaceId).where('files.name', '=', name).executeTakeFirst();
  return row && toFile(row);
}

export async function findFileByHash(db: DB, spaceId: string, hash: string): Promise<StoredFile | undefined> {
  const row = await query(db).where('files.space_id', '=', spaceId).where('files.hash', '=', hash).orderBy('files.name').executeTakeFirst();
  return row && toFile(row);
}

export async function listFiles(db: DB, spaceId: string): Promise<StoredFile[]> {
  const rows = await query(db).where('files.space_id', '=', spaceId).orderBy('files.name').execute();
  return rows.map(toFile);
}

export interface PutFile {
  spaceId: string;
  name: string;
  type: string;
  size: number;
  contentType: string;
  hash: string;
  uploadedBy: string;
  now: string;
}

/** Points a name at a blob: a new entry, or the existing entry of that name replaced. */
export async function putFile(db: DB, input: PutFile): Promise<void> {
  const values = { type: input.type, size: input.size, content_type: input.contentType, hash: input.hash, uploaded_by: input.uploadedBy };
  await db
    .insertInto('files')
    .values({ id: newId(), space_id: input.spaceId, name: input.name, ...values, created_at: input.now, updated_at: input.now })
    .onConflict((oc) => oc.columns(['space_id', 'name']).doUpdateSet({ ...values, created_at: input.now, updated_at: input.now }))
    .execute();
}

/** Bytes of every indexed file in a namespace. */
export async function namespaceUsage(db: DB, namespaceId: string): Promise<number> {
  const row = await db
    .selectFrom('files')
    .innerJoin('spaces', 'spaces.id', 'files.space_id')
    .select((eb) => eb.fn.sum<number | string | null>('files.size').as('total'))
    .where('spaces.namespace_id', '=', namespaceId)
    .executeTakeFirst();
  return Number(row?.total ?? 0);
}
