import { DreamLakeError } from '@dreamlake/presign';
import { isUniqueViolation } from './errors.ts';
import { newId } from './ids.ts';
import type { DB } from './open.ts';
import { preparedQuery } from './prepared.ts';

export interface User {
  id: string;
  username: string;
  passwordHash: string;
  createdAt: string;
  /** Moves on at each password change; JWTs of an earlier epoch are refused. */
  tokenEpoch: number;
}

const columns = [
  'id',
  'username',
  'password_hash as passwordHash',
  'created_at as createdAt',
  'token_epoch as tokenEpoch',
] as const;

/**
 * Creates a user with their personal namespace (same name, the user its owner). A name already
 * taken by a user or an organisation is a conflict.
 */
export async function createUser(
  db: DB,
  input: { username: string; passwordHash: string; now: string },
): Promise<User> {
  const user: User = {
    id: newId(),
    username: input.username,
    passwordHash: input.passwordHash,
    createdAt: input.now,
    tokenEpoch: 0,
  };
  try {
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('users')
        .values({ id: user.id, username: user.username, password_hash: user.passwordHash, created_at: user.createdAt })
        .execute();
      const namespaceId = newId();
      await trx
        .insertInto('namespaces')
        .values({ id: namespaceId, name: user.username, kind: 'user', created_at: input.now })
        .execute();
      await trx
        .insertInto('memberships')
        .values({ namespace_id: namespaceId, user_id: user.id, role: 'owner', created_at: input.now })
        .execute();
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new DreamLakeError('conflict', `the name "${input.username}" is taken`);
    throw error;
  }
  return user;
}

export async function findUserByName(db: DB, username: string): Promise<User | undefined> {
  return db.selectFrom('users').select(columns).where('username', '=', username).executeTakeFirst();
}

export async function findUserById(db: DB, id: string): Promise<User | undefined> {
  return db.selectFrom('users').select(columns).where('id', '=', id).executeTakeFirst();
}

const sessionUser = preparedQuery(1, (db, id: string) =>
  db.selectFrom('users').select(['id', 'username', 'token_epoch as tokenEpoch']).where('id', '=', id),
);

/** A user's name and current token epoch (asked on every request made with a JWT). */
export async function findSessionUser(
  db: DB,
  id: string,
): Promise<{ id: string; username: string; tokenEpoch: number } | undefined> {
  const [row] = await sessionUser(db, id);
  return row && { ...row, tokenEpoch: Number(row.tokenEpoch) };
}

/** Moves the user's token epoch on: every JWT issued before stops working, on every process. Answers the new epoch. */
export async function endSessions(db: DB, userId: string): Promise<number> {
  const row = await db
    .updateTable('users')
    .set((eb) => ({ token_epoch: eb('token_epoch', '+', 1) }))
    .where('id', '=', userId)
    .returning('token_epoch')
    .executeTakeFirstOrThrow();
  return Number(row.token_epoch);
}

/**
 * Sets a new password hash and moves the user's token epoch on (their JWTs stop working); unless
 * `keepTokens`, revokes their personal access tokens too. One transaction; answers the new epoch.
 */
export async function setPasswordHash(
  db: DB,
  userId: string,
  passwordHash: string,
  options: { keepTokens: boolean; now: string },
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('users')
      .set((eb) => ({ password_hash: passwordHash, token_epoch: eb('token_epoch', '+', 1) }))
      .where('id', '=', userId)
      .returning('token_epoch')
      .executeTakeFirstOrThrow();
    if (!options.keepTokens) {
      await trx
        .updateTable('access_tokens')
        .set({ revoked_at: options.now })
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .execute();
    }
    return Number(row.token_epoch);
  });
}
