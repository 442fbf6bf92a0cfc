import type { Kysely } from 'kysely';

/**
 * Granted bytes and collection candidates.
 *
 * `upload_reservations`: one row per blob granted and not yet registered in its space, with the
 * size the grant stated; it counts against its namespace's quota until `expires_at` (the grant's
 * URLs' expiry plus BLOB_GC_GRACE_SECONDS, when the blob may be collected) or until the blob is
 * registered. Written under the namespace's lock, so concurrent grants see each other's bytes.
 *
 * `blob_candidates`: blobs that lost their last name in a space, for the collection to look at;
 * `deleting_at` marks one whose delete is on its way to BSS (no grant is answered for it meanwhile).
 *
 * `namespaces.created_by`: who created an organisation (null for personal namespaces and for
 * organisations created before this migration), for ORGS_PER_USER.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('upload_reservations')
    .addColumn('namespace', 'text', (c) => c.notNull())
    .addColumn('space', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('upload_reservations_pk', ['namespace', 'space', 'hash'])
    .execute();
  await db.schema
    .createIndex('upload_reservations_expiry')
    .on('upload_reservations')
    .columns(['namespace', 'expires_at'])
    .execute();
  await db.schema
    .createTable('blob_candidates')
    .addColumn('namespace', 'text', (c) => c.notNull())
    .addColumn('space', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('since', 'text', (c) => c.notNull())
    .addColumn('deleting_at', 'text')
    .addPrimaryKeyConstraint('blob_candidates_pk', ['namespace', 'space', 'hash'])
    .execute();
  await db.schema.alterTable('namespaces').addColumn('created_by', 'text').execute();
  await db.schema.createIndex('namespaces_created_by').on('namespaces').column('created_by').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('namespaces_created_by').execute();
  await db.schema.alterTable('namespaces').dropColumn('created_by').execute();
  await db.schema.dropTable('blob_candidates').execute();
  await db.schema.dropIndex('upload_reservations_expiry').execute();
  await db.schema.dropTable('upload_reservations').execute();
}
