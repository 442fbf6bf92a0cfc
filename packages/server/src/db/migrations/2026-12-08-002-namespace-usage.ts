import { type Kysely, sql } from 'kysely';

/**
 * `namespace_usage`: the bytes each namespace stores (each blob a snapshot of its spaces names,
 * head or older, or a put of one of its drafts, once per space), kept up to date by every write
 * that changes which blobs are live, under the namespace's lock, so the quota reads it in O(1)
 * instead of summing the namespace's entries. Filled here from that sum; a namespace without a
 * row stores nothing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('namespace_usage')
    .addColumn('namespace_id', 'text', (c) => c.primaryKey().references('namespaces.id').onDelete('cascade'))
    .addColumn('stored_bytes', 'bigint', (c) => c.notNull())
    .execute();
  await sql`
    insert into namespace_usage (namespace_id, stored_bytes)
    select namespace_id, sum(size) from (
      select namespace_id, space, hash, max(size) as size from (
        select spaces.namespace_id as namespace_id, spaces.name as space, files.hash as hash, files.size as size
          from files inner join spaces on spaces.id = files.space_id
        union all
        select spaces.namespace_id, spaces.name, file_history.hash, file_history.size
          from file_history inner join spaces on spaces.id = file_history.space_id
        union all
        select drafts.namespace_id, drafts.space, draft_entries.hash, draft_entries.size
          from draft_entries inner join drafts on drafts.id = draft_entries.draft_id
          where draft_entries.op = 'put' and draft_entries.hash is not null
      ) as named
      group by namespace_id, space, hash
    ) as blobs
    group by namespace_id`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('namespace_usage').execute();
}
