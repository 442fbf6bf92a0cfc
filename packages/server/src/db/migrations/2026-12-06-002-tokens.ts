import type { Kysely } from 'kysely';

/**
 * Token lineage and login clients.
 * - `access_tokens.parent_id`: the token that minted this one (null when a login session or a
 *   password did), so revoking a token revokes what it minted. Tokens made before this migration
 *   have none.
 * - `access_tokens.session_epoch`: for a token a login session minted without the password, the
 *   user's token epoch then: the token ends with that session (logout, password change).
 *   Null otherwise.
 * - `login_clients`: per username and client (an IPv4 address or an IPv6 /64), when that client
 *   last logged in as that user (`trusted_at`: it passes the per-username back-off) and when it
 *   was last let through or asked to wait by that back-off (`paced_at`).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('access_tokens').addColumn('parent_id', 'text').execute();
  await db.schema.alterTable('access_tokens').addColumn('session_epoch', 'integer').execute();
  await db.schema.createIndex('access_tokens_parent').on('access_tokens').column('parent_id').execute();

  await db.schema
    .createTable('login_clients')
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('client', 'text', (c) => c.notNull())
    .addColumn('trusted_at', 'text')
    .addColumn('paced_at', 'text')
    .addPrimaryKeyConstraint('login_clients_pk', ['username', 'client'])
    .execute();
  await db.schema.createIndex('login_clients_trusted').on('login_clients').column('trusted_at').execute();
  await db.schema.createIndex('login_clients_paced').on('login_clients').column('paced_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('login_clients').execute();
  await db.schema.dropIndex('access_tokens_parent').execute();
  await db.schema.alterTable('access_tokens').dropColumn('session_epoch').execute();
  await db.schema.alterTable('access_tokens').dropColumn('parent_id').execute();
}
