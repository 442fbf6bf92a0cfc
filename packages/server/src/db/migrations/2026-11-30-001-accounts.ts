import { type Kysely, sql } from 'kysely';

/**
 * Accounts hardening: sign-up attempts per address (rate limit), access token scopes and expiry,
 * and a per-user token epoch that a password change moves on (every earlier JWT stops working).
 * Tokens made before this migration keep every scope and never expire.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('signup_attempts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('signup_attempts_ip').on('signup_attempts').columns(['ip', 'created_at']).execute();
  await db.schema
    .createIndex('login_failures_user_ip')
    .on('login_failures')
    .columns(['username', 'ip', 'created_at'])
    .execute();

  await db.schema
    .alterTable('access_tokens')
    .addColumn('scopes', 'text', (c) => c.notNull().defaultTo(sql`'read write admin'`))
    .execute();
  await db.schema.alterTable('access_tokens').addColumn('expires_at', 'text').execute();
  await db.schema
    .alterTable('users')
    .addColumn('token_epoch', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('token_epoch').execute();
  await db.schema.alterTable('access_tokens').dropColumn('expires_at').execute();
  await db.schema.alterTable('access_tokens').dropColumn('scopes').execute();
  await db.schema.dropIndex('login_failures_user_ip').execute();
  await db.schema.dropTable('signup_attempts').execute();
}
