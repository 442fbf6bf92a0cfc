import type { DB } from './open.ts';
import { newId } from './ids.ts';
import { preparedQuery } from './prepared.ts';

export interface AccessToken {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export async function insertAccessToken(db: DB, input: { userId: string; name: string; tokenHash: string; now: string }): Promise<AccessToken> {
  const id = newId();
  await db
    .insertInto('access_tokens')
    .values({ id, user_id: input.userId, name: input.name, token_hash: input.tokenHash, created_at: input.now, last_used_at: null, revoked_at: null })
    .execute();
  return { id, name: input.name, createdAt: input.now, lastUsedAt: null };
}

const activeTokenOwner = preparedQuery(1, (db, tokenHash: string) =>
  db
    .selectFrom('access_tokens')
    .innerJoin('users', 'users.id', 'access_tokens.user_id')
    .select(['access_tokens.id as tokenId', 'users.id as userId', 'users.username as username'])
    .where('access_tokens.token_hash', '=', tokenHash)
    .where('access_tokens.revoked_at', 'is', null),
);

/** The owner of an unrevoked token with this hash (asked on every request: revocation holds at once). */
export async function findActiveTokenOwner(db: DB, tokenHash: string): Promise<{ tokenId: string; userId: string; username: string } | undefined> {
  const [owner] = await activeTokenOwner(db, tokenHash);
  return owner;
}

/** `last_used_at` is brought up to date at most this often. */
export const TOUCH_INTERVAL_MS = 60_000;

/** Records a use; writes at most once a minute per token so busy machines do not write on every request. */
export async function touchAccessToken(db: DB, id: string, nowMs: number): Promise<void> {
  const now = new Date(nowMs).toISOString();
  const stale = new Date(nowMs - TOUCH_INTERVAL_MS).toISOString();
  await db
    .updateTable('access_tokens')
    .set({ last_used_at: now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', stale)]))
    .execute();
}

export async function listAccessTokens(db: DB, userId: string): Promise<AccessToken[]> {
  return db
    .selectFrom('access_tokens')
    .select(['id', 'name', 'created_at as createdAt', 'last_used_at as lastUsedAt'])
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .orderBy('created_at')
    .execute();
}

/** Revokes one of the user's tokens; false when they have no such live token. */
export async function revokeAccessToken(db: DB, userId: string, id: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('access_tokens')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
