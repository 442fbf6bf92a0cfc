import type { Kysely } from 'kysely';

/**
 * `blob_deletes`: when the collection last sent a delete of a blob to BSS and heard back (or gave
 * up waiting), kept PRESIGN_TTL_SECONDS plus BLOB_GC_GRACE_SECONDS. A name is not registered for
 * a blob deleted after it was proven (a `stat`, a receipt, or the index holding it), so a proof
 * taken just before a delete cannot leave a name pointing at nothing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('blob_deletes')
    .addColumn('namespace', 'text', (c) => c.notNull())
    .addColumn('space', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('deleted_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('blob_deletes_pk', ['namespace', 'space', 'hash'])
    .execute();
  await db.schema.createIndex('blob_deletes_deleted_at').on('blob_deletes').column('deleted_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('blob_deletes_deleted_at').execute();
  await db.schema.dropTable('blob_deletes').execute();
}
