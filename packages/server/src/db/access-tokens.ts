import { formatScopes, parseScopes, type Scope } from '../auth/scopes.ts';
import { newId } from './ids.ts';
import type { DB } from './open.ts';
import { preparedQuery } from './prepared.ts';

export interface AccessToken {
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export async function insertAccessToken(
  db: DB,
  input: {
    userId: string;
    name: string;
    tokenHash: string;
    scopes: readonly Scope[];
    expiresAt: string | null;
    /** The token that minted this one, or null (a login session or a password did). */
    parentId: string | null;
    /**
     * The token epoch of the login session the token is to end with (the minting session's, or the
     * minting token's own); else null.
     */
    sessionEpoch: number | null;
    now: string;
  },
): Promise<AccessToken> {
  const id = newId();
  const scopes = formatScopes(input.scopes);
  await db
    .insertInto('access_tokens')
    .values({
      id,
      user_id: input.userId,
      name: input.name,
      token_hash: input.tokenHash,
      scopes,
      expires_at: input.expiresAt,
      created_at: input.now,
      last_used_at: null,
      revoked_at: null,
      parent_id: input.parentId,
      session_epoch: input.sessionEpoch,
    })
    .execute();
  return {
    id,
    name: input.name,
    scopes: parseScopes(scopes),
    createdAt: input.now,
    expiresAt: input.expiresAt,
    lastUsedAt: null,
  };
}

const activeTokenOwner = preparedQuery(2, (db, tokenHash: string, now: string) =>
  db
    .selectFrom('access_tokens')
    .innerJoin('users', 'users.id', 'access_tokens.user_id')
    .select([
      'access_tokens.id as tokenId',
      'users.id as userId',
      'users.username as username',
      'access_tokens.scopes as scopes',
      'access_tokens.expires_at as expiresAt',
    ])
    .where('access_tokens.token_hash', '=', tokenHash)
    .where('access_tokens.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('access_tokens.expires_at', 'is', null), eb('access_tokens.expires_at', '>', now)]))
    .where((eb) =>
      eb.or([
        eb('access_tokens.session_epoch', 'is', null),
        eb('access_tokens.session_epoch', '=', eb.ref('users.token_epoch')),
      ]),
    ),
);

/**
 * The owner, scopes and expiry of an unrevoked, unexpired token with this hash, whose minting
 * session (if it is to end with one) has not ended (asked on every request: revocation holds at
 * once).
 */
export async function findActiveTokenOwner(
  db: DB,
  tokenHash: string,
  now: string,
): Promise<
  { tokenId: string; userId: string; username: string; scopes: Scope[]; expiresAt: string | null } | undefined
> {
  const [owner] = await activeTokenOwner(db, tokenHash, now);
  return owner && { ...owner, scopes: parseScopes(owner.scopes) };
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

/** The user's unrevoked tokens, expired ones included (with their `expiresAt`). */
export async function listAccessTokens(db: DB, userId: string): Promise<AccessToken[]> {
  const rows = await db
    .selectFrom('access_tokens')
    .select([
      'id',
      'name',
      'scopes',
      'created_at as createdAt',
      'expires_at as expiresAt',
      'last_used_at as lastUsedAt',
    ])
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .orderBy('created_at')
    .execute();
  return rows.map((row) => ({ ...row, scopes: parseScopes(row.scopes) }));
}

/**
 * The login session's token epoch a token ends with (null: none, or no such token): the tokens it
 * mints end with that session too.
 */
export async function sessionEpochOf(db: DB, id: string): Promise<number | null> {
  const row = await db.selectFrom('access_tokens').select('session_epoch').where('id', '=', id).executeTakeFirst();
  return row?.session_epoch == null ? null : Number(row.session_epoch);
}

/** Whether a token is still unrevoked. */
export async function isTokenUnrevoked(db: DB, id: string): Promise<boolean> {
  const row = await db
    .selectFrom('access_tokens')
    .select('id')
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Revokes one of the user's tokens and every token minted from it, however deep; false when
 * they have no such live token.
 */
export async function revokeAccessToken(db: DB, userId: string, id: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('access_tokens')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return false;
  await revokeOrphans(db, userId, now);
  return true;
}

/**
 * Revokes the user's tokens minted by login sessions that have ended (of a token epoch before
 * `epoch`), and what they minted.
 */
export async function revokeSessionTokens(db: DB, userId: string, epoch: number, now: string): Promise<void> {
  await db
    .updateTable('access_tokens')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('session_epoch', '<', epoch)
    .execute();
  await revokeOrphans(db, userId, now);
}

/**
 * Revokes the user's live tokens whose minter is revoked, a generation per statement, until none
 * is left. Each statement sees what was committed before it, and a mint checks its minter again
 * once its own row is in (routes/tokens.ts): a token minted while its minter is being revoked is
 * revoked by one or the other.
 */
export async function revokeOrphans(db: DB, userId: string, now: string): Promise<void> {
  for (;;) {
    const result = await db
      .updateTable('access_tokens')
      .set({ revoked_at: now })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('parent_id', 'in', (eb) =>
        eb
          .selectFrom('access_tokens as minter')
          .select('minter.id')
          .where('minter.user_id', '=', userId)
          .where('minter.revoked_at', 'is not', null),
      )
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return;
  }
}
