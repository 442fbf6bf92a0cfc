import { type Kysely, sql } from 'kysely';

/**
 * Finished deletes, and token lineage filled in.
 *
 * `blob_deletes`: when the collection last sent a delete of a blob to BSS and heard back (or gave
 * up waiting), kept PRESIGN_TTL_SECONDS plus BLOB_GC_GRACE_SECONDS. A name is not registered for
 * a blob deleted after it was proven (a `stat`, a receipt, or the index holding it), so a proof
 * taken just before a delete cannot leave a name pointing at nothing.
 *
 * `access_tokens.session_epoch` of a token minted by a token that ends with a login session is
 * that session's epoch from now on; tokens minted before are given it here, generation by
 * generation, so they end with the session too.
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
  for (;;) {
    const result = await sql`
      update access_tokens
      set session_epoch = (select minter.session_epoch from access_tokens minter where minter.id = access_tokens.parent_id)
      where session_epoch is null
        and parent_id in (select id from access_tokens where session_epoch is not null)`.execute(db);
    if (Number(result.numAffectedRows ?? 0) === 0) break;
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('blob_deletes_deleted_at').execute();
  await db.schema.dropTable('blob_deletes').execute();
}
