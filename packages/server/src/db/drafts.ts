import type { Selectable } from 'kysely';
import { chunks, IN_LIST_CHUNK } from './chunks.ts';
import { newId } from './ids.ts';
import type { DB } from './open.ts';
import type { DraftsTable } from './schema.ts';

export type DraftRow = Selectable<DraftsTable>;

/** One change of a draft: a put of a name, a delete of a name, or a delete of a prefix. */
export type DraftEntry =
  | { op: 'put'; name: string; hash: string; type: string; size: number; contentType: string }
  | { op: 'delete'; name: string; prefix: boolean };

export async function insertDraft(db: DB, input: Omit<DraftRow, 'id'>): Promise<DraftRow> {
  const row = { id: newId(), ...input };
  await db.insertInto('drafts').values(row).execute();
  return row;
}

export async function findDraft(db: DB, id: string): Promise<DraftRow | undefined> {
  return db.selectFrom('drafts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function touchDraft(db: DB, id: string, expiresAt: string): Promise<void> {
  await db.updateTable('drafts').set({ expires_at: expiresAt }).where('id', '=', id).execute();
}

export async function deleteDraft(db: DB, id: string): Promise<void> {
  await db.deleteFrom('draft_entries').where('draft_id', '=', id).execute();
  await db.deleteFrom('drafts').where('id', '=', id).execute();
}

const keyOf = (entry: DraftEntry) => ({ prefix: entry.op === 'delete' && entry.prefix ? 1 : 0, name: entry.name });

/**
 * Writes entries into a draft, each replacing the draft's entry of the same name (or prefix);
 * answers the hashes of the puts replaced by another hash (the draft no longer holds them).
 */
export async function putDraftEntries(db: DB, draftId: string, entries: readonly DraftEntry[]): Promise<string[]> {
  const replaced = new Set<string>();
  const names = entries.filter((e) => keyOf(e).prefix === 0).map((e) => e.name);
  const incoming = new Map(entries.flatMap((e) => (e.op === 'put' ? [[e.name, e.hash] as const] : [])));
  for (const [name, hash] of await draftPutsByName(db, draftId, names)) {
    if (incoming.get(name) !== hash) replaced.add(hash);
  }
  const rows = entries.map((entry) => ({
    draft_id: draftId,
    ...keyOf(entry),
    op: entry.op,
    type: entry.op === 'put' ? entry.type : null,
    size: entry.op === 'put' ? entry.size : null,
    content_type: entry.op === 'put' ? entry.contentType : null,
    hash: entry.op === 'put' ? entry.hash : null,
  }));
  for (const slice of chunks(rows, 500)) {
    await db
      .insertInto('draft_entries')
      .values(slice)
      .onConflict((oc) =>
        oc.columns(['draft_id', 'prefix', 'name']).doUpdateSet((eb) => ({
          op: eb.ref('excluded.op'),
          type: eb.ref('excluded.type'),
          size: eb.ref('excluded.size'),
          content_type: eb.ref('excluded.content_type'),
          hash: eb.ref('excluded.hash'),
        })),
      )
      .execute();
  }
  return [...replaced];
}

export async function countDraftEntries(db: DB, draftId: string): Promise<number> {
  const row = await db
    .selectFrom('draft_entries')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('draft_id', '=', draftId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Every entry of a draft. */
export async function draftEntries(db: DB, draftId: string): Promise<DraftEntry[]> {
  const rows = await db.selectFrom('draft_entries').selectAll().where('draft_id', '=', draftId).execute();
  return rows.map(
    (row): DraftEntry =>
      row.op === 'put'
        ? {
            op: 'put',
            name: row.name,
            hash: row.hash ?? '',
            type: row.type ?? '',
            size: Number(row.size ?? 0),
            contentType: row.content_type ?? '',
          }
        : { op: 'delete', name: row.name, prefix: Number(row.prefix) === 1 },
  );
}

/** The hashes a draft's puts name. */
export async function draftHashes(db: DB, draftId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('draft_entries')
    .select('hash')
    .distinct()
    .where('draft_id', '=', draftId)
    .where('op', '=', 'put')
    .execute();
  return rows.flatMap((row) => (row.hash ? [row.hash] : []));
}

/** The hash each of these names is put at in the draft (names it deletes, or lacks, are left out). */
export async function draftPutsByName(db: DB, draftId: string, names: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const slice of chunks([...new Set(names)], IN_LIST_CHUNK)) {
    const rows = await db
      .selectFrom('draft_entries')
      .select(['name', 'hash'])
      .where('draft_id', '=', draftId)
      .where('prefix', '=', 0)
      .where('op', '=', 'put')
      .where('name', 'in', slice)
      .execute();
    for (const row of rows) if (row.hash) found.set(row.name, row.hash);
  }
  return found;
}

/** Which of these hashes a draft of the space (by name: it may not exist yet) puts, so its blob is kept. */
export async function draftHeldHashes(
  db: DB,
  namespaceId: string,
  space: string,
  hashes: readonly string[],
): Promise<Set<string>> {
  const held = new Set<string>();
  for (const slice of chunks([...new Set(hashes)], IN_LIST_CHUNK)) {
    const rows = await db
      .selectFrom('draft_entries')
      .innerJoin('drafts', 'drafts.id', 'draft_entries.draft_id')
      .select('draft_entries.hash')
      .distinct()
      .where('drafts.namespace_id', '=', namespaceId)
      .where('drafts.space', '=', space)
      .where('draft_entries.hash', 'in', slice)
      .execute();
    for (const row of rows) if (row.hash) held.add(row.hash);
  }
  return held;
}

/** Up to `limit` drafts that expired at `now`, with their namespace's name. */
export async function expiredDrafts(
  db: DB,
  now: string,
  limit: number,
): Promise<Array<{ id: string; namespaceId: string; namespace: string; space: string }>> {
  return db
    .selectFrom('drafts')
    .innerJoin('namespaces', 'namespaces.id', 'drafts.namespace_id')
    .select([
      'drafts.id as id',
      'drafts.namespace_id as namespaceId',
      'namespaces.name as namespace',
      'drafts.space as space',
    ])
    .where('drafts.expires_at', '<=', now)
    .orderBy('drafts.expires_at')
    .limit(limit)
    .execute();
}
