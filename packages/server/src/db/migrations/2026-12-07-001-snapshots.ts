import { type Kysely, sql } from 'kysely';

/**
 * Versioned spaces.
 *
 * A space has a linear history of snapshots 1, 2, 3, ...; `spaces.head_version` is the newest
 * (0: no snapshot yet, an empty space). The entries of a snapshot are stored as version ranges, so
 * a commit that changes k names of a space of n files writes O(k) rows, never a copy of n:
 *
 * - `files` holds the entries of head, each with the version that wrote it (`from_version`);
 * - `file_history` holds every entry head no longer has, with the range of versions it was part
 *   of (`from_version` inclusive, `to_version` exclusive).
 *
 * Version v holds the entries with `from_version <= v` of `files`, and those of `file_history`
 * with `from_version <= v < to_version`.
 *
 * `snapshots`: one row per version, with its metadata and counts; `manifest_hash` is filled in
 * when first computed (a snapshot never changes, so it is computed once); `dropped_at` marks a
 * snapshot the retention dropped (its entries are gone; the row stays so a link to it can answer
 * "gone").
 *
 * `drafts` and `draft_entries`: commits larger than one request, built in batches. An entry is a
 * put (a name to a proven blob) or a delete of a name or of a prefix (`prefix` = 1); a name is
 * written once per draft (a batch sent again replaces its entries).
 *
 * Existing spaces with files become snapshot 1 of their files.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('spaces')
    .addColumn('head_version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('files')
    .addColumn('from_version', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();

  await db.schema
    .createTable('file_history')
    .addColumn('space_id', 'text', (c) => c.notNull().references('spaces.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('from_version', 'integer', (c) => c.notNull())
    .addColumn('to_version', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('uploaded_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('file_history_pk', ['space_id', 'name', 'from_version'])
    .execute();
  await db.schema.createIndex('file_history_to').on('file_history').columns(['space_id', 'to_version']).execute();
  await db.schema.createIndex('file_history_hash').on('file_history').columns(['space_id', 'hash']).execute();
  await db.schema.createIndex('files_space_from').on('files').columns(['space_id', 'from_version']).execute();

  await db.schema
    .createTable('snapshots')
    .addColumn('space_id', 'text', (c) => c.notNull().references('spaces.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('parent', 'integer')
    .addColumn('author', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('added', 'bigint', (c) => c.notNull())
    .addColumn('changed', 'bigint', (c) => c.notNull())
    .addColumn('removed', 'bigint', (c) => c.notNull())
    .addColumn('files', 'bigint', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addColumn('manifest_hash', 'text')
    .addColumn('dropped_at', 'text')
    .addPrimaryKeyConstraint('snapshots_pk', ['space_id', 'version'])
    .execute();

  await db.schema
    .createTable('drafts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('namespace_id', 'text', (c) => c.notNull().references('namespaces.id').onDelete('cascade'))
    .addColumn('space', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('parent', 'integer')
    .addColumn('message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('drafts_expiry').on('drafts').column('expires_at').execute();
  await db.schema
    .createTable('draft_entries')
    .addColumn('draft_id', 'text', (c) => c.notNull().references('drafts.id').onDelete('cascade'))
    .addColumn('prefix', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('op', 'text', (c) => c.notNull())
    .addColumn('type', 'text')
    .addColumn('size', 'bigint')
    .addColumn('content_type', 'text')
    .addColumn('hash', 'text')
    .addPrimaryKeyConstraint('draft_entries_pk', ['draft_id', 'prefix', 'name'])
    .execute();
  await db.schema.createIndex('draft_entries_hash').on('draft_entries').column('hash').execute();

  await sql`
    insert into snapshots (space_id, version, parent, author, message, created_at, added, changed, removed, files, bytes)
    select s.id, 1, null, s.created_by, 'files indexed before versioning', max(f.updated_at), count(*), 0, 0, count(*), sum(f.size)
    from spaces s join files f on f.space_id = s.id
    group by s.id, s.created_by`.execute(db);
  await sql`update spaces set head_version = 1 where id in (select space_id from snapshots)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('draft_entries').execute();
  await db.schema.dropIndex('drafts_expiry').execute();
  await db.schema.dropTable('drafts').execute();
  await db.schema.dropTable('snapshots').execute();
  await db.schema.dropIndex('files_space_from').execute();
  await db.schema.dropIndex('file_history_hash').execute();
  await db.schema.dropIndex('file_history_to').execute();
  await db.schema.dropTable('file_history').execute();
  await db.schema.alterTable('files').dropColumn('from_version').execute();
  await db.schema.alterTable('spaces').dropColumn('head_version').execute();
}
