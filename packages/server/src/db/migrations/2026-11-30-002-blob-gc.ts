import type { Kysely } from 'kysely';

/**
 * Collecting unregistered blobs: grants are walked in (created_at, id) order, and how far the
 * walk has got is kept in `blob_gc`, one row per walk (`grants`). The index on (namespace,
 * space, hash, created_at) answers "was this blob granted again since?" and the one on
 * (created_at, id) the walk itself.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('blob_gc')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('grant_id', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('upload_grants_created').on('upload_grants').columns(['created_at', 'id']).execute();
  await db.schema
    .createIndex('upload_grants_blob')
    .on('upload_grants')
    .columns(['namespace', 'space', 'hash', 'created_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('upload_grants_blob').execute();
  await db.schema.dropIndex('upload_grants_created').execute();
  await db.schema.dropTable('blob_gc').execute();
}
