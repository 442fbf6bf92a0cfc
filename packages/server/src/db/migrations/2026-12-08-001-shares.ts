import type { Kysely } from 'kysely';

/**
 * Share links: a space (at a pinned version, or head at each use), or the names under a prefix of
 * it, for whoever holds the link's secret, without an account.
 *
 * - `shares`: one row per link. Only the SHA-256 of its secret is kept (`secret_hash`, unique).
 *   `version` null serves head at each use; `prefix` '' names the whole space. A link stops at
 *   `expires_at` or `revoked_at`. `uses` counts the requests answered through it, `downloads` the
 *   files it handed out download URLs for, `last_used_at` the latest. `window_started_at` and
 *   `window_uses` are its rate limit's current window, kept here so every server process counts
 *   the same requests.
 * - `share_uses`: every use, by link, file (null for a listing or a page), client (an IPv4
 *   address or IPv6 /64) and time.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('shares')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
    .addColumn('namespace_id', 'text', (c) => c.notNull().references('namespaces.id').onDelete('cascade'))
    .addColumn('space_id', 'text', (c) => c.notNull().references('spaces.id').onDelete('cascade'))
    .addColumn('version', 'integer')
    .addColumn('prefix', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_by', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .addColumn('uses', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('downloads', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('last_used_at', 'text')
    .addColumn('window_started_at', 'text')
    .addColumn('window_uses', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('shares_namespace').on('shares').columns(['namespace_id', 'created_at']).execute();

  await db.schema
    .createTable('share_uses')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('share_id', 'text', (c) => c.notNull().references('shares.id').onDelete('cascade'))
    .addColumn('file', 'text')
    .addColumn('client', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('share_uses_share').on('share_uses').columns(['share_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('share_uses').execute();
  await db.schema.dropTable('shares').execute();
}
