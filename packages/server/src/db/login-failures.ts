import { newId } from './ids.ts';
import type { DB } from './open.ts';

/**
 * Login attempts, kept while they count: a row is written before the password is checked and
 * stays when the password was wrong; a refused or successful attempt takes its row away again.
 */
export async function recordLoginAttempt(
  db: DB,
  input: { username: string; ip: string; nowMs: number },
): Promise<string> {
  const id = newId(input.nowMs);
  await db
    .insertInto('login_failures')
    .values({ id, username: input.username, ip: input.ip, created_at: new Date(input.nowMs).toISOString() })
    .execute();
  return id;
}

export interface AttemptWindow {
  count: number;
  /** ISO time of the oldest attempt counted, or null. */
  oldest: string | null;
  /** ISO time of the newest attempt counted other than `ownId`, or null. */
  newestOther: string | null;
}

/** Attempts since `since` by a username, an address, or both, counting `ownId` too. */
export async function attemptsSince(
  db: DB,
  by: { username?: string; ip?: string },
  since: string,
  ownId: string,
): Promise<AttemptWindow> {
  let q = db
    .selectFrom('login_failures')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('count'),
      eb.fn.min<string | null>('created_at').as('oldest'),
      eb.fn.max<string | null>(eb.case().when('id', '<>', ownId).then(eb.ref('created_at')).end()).as('newestOther'),
    ])
    .where('created_at', '>', since);
  if (by.username !== undefined) q = q.where('username', '=', by.username);
  if (by.ip !== undefined) q = q.where('ip', '=', by.ip);
  const row = await q.executeTakeFirstOrThrow();
  return { count: Number(row.count), oldest: row.oldest ?? null, newestOther: row.newestOther ?? null };
}

export async function forgetLoginAttempt(db: DB, id: string): Promise<void> {
  await db.deleteFrom('login_failures').where('id', '=', id).execute();
}

/** Forgets the failures of one username from one address (after that pair logs in). */
export async function clearLoginFailures(db: DB, username: string, ip: string): Promise<void> {
  await db.deleteFrom('login_failures').where('username', '=', username).where('ip', '=', ip).execute();
}

export async function pruneLoginFailures(db: DB, before: string): Promise<void> {
  await db.deleteFrom('login_failures').where('created_at', '<=', before).execute();
}

/** A client's standing with a username (login_clients): when it last logged in, and was last paced. */
export async function findLoginClient(
  db: DB,
  username: string,
  client: string,
): Promise<{ trustedAt: string | null; pacedAt: string | null } | undefined> {
  return db
    .selectFrom('login_clients')
    .select(['trusted_at as trustedAt', 'paced_at as pacedAt'])
    .where('username', '=', username)
    .where('client', '=', client)
    .executeTakeFirst();
}

/** Records that a client logged in as a username. */
export async function trustLoginClient(db: DB, username: string, client: string, now: string): Promise<void> {
  await db
    .insertInto('login_clients')
    .values({ username, client, trusted_at: now, paced_at: null })
    .onConflict((oc) => oc.columns(['username', 'client']).doUpdateSet({ trusted_at: now }))
    .execute();
}

/**
 * Paces a client's attempts at a username: one at most every so often. Answers true, and starts
 * the next pause, when the client's last paced attempt was at or before `readyBefore`; otherwise
 * (a first attempt included, which starts the pause) answers when the pause began.
 */
export async function paceLoginClient(
  db: DB,
  username: string,
  client: string,
  now: string,
  readyBefore: string,
): Promise<{ ready: true } | { ready: false; since: string }> {
  const passed = await db
    .updateTable('login_clients')
    .set({ paced_at: now })
    .where('username', '=', username)
    .where('client', '=', client)
    .where('paced_at', '<=', readyBefore)
    .executeTakeFirst();
  if (Number(passed.numUpdatedRows) > 0) return { ready: true };
  await db
    .insertInto('login_clients')
    .values({ username, client, trusted_at: null, paced_at: now })
    .onConflict((oc) => oc.columns(['username', 'client']).doNothing())
    .execute();
  await db
    .updateTable('login_clients')
    .set({ paced_at: now })
    .where('username', '=', username)
    .where('client', '=', client)
    .where('paced_at', 'is', null)
    .execute();
  const row = await findLoginClient(db, username, client);
  return { ready: false, since: row?.pacedAt ?? now };
}

/** Forgets clients neither trusted since `trustedAfter` nor paced since `pacedAfter`. */
export async function pruneLoginClients(db: DB, trustedAfter: string, pacedAfter: string): Promise<void> {
  await db
    .deleteFrom('login_clients')
    .where((eb) => eb.or([eb('trusted_at', 'is', null), eb('trusted_at', '<=', trustedAfter)]))
    .where((eb) => eb.or([eb('paced_at', 'is', null), eb('paced_at', '<=', pacedAfter)]))
    .execute();
}
