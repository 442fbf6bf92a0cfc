import type { DB } from './open.ts';
import { newId } from './ids.ts';

export async function recordLoginFailure(db: DB, input: { username: string; ip: string; now: string }): Promise<void> {
  await db.insertInto('login_failures').values({ id: newId(), username: input.username, ip: input.ip, created_at: input.now }).execute();
}

export interface FailureWindow {
  count: number;
  /** ISO time of the oldest failure counted, or null. */
  oldest: string | null;
}

/** Failed logins since `since` for a username, or for an address. */
export async function failuresSince(db: DB, by: { username: string } | { ip: string }, since: string): Promise<FailureWindow> {
  let q = db
    .selectFrom('login_failures')
    .select((eb) => [eb.fn.countAll<number | string>().as('count'), eb.fn.min<string | null>('created_at').as('oldest')])
    .where('created_at', '>', since);
  q = 'username' in by ? q.where('username', '=', by.username) : q.where('ip', '=', by.ip);
  const row = await q.executeTakeFirstOrThrow();
  return { count: Number(row.count), oldest: row.oldest ?? null };
}

/** Forgets the failures of one username from one address (after that pair logs in). */
export async function clearLoginFailures(db: DB, username: string, ip: string): Promise<void> {
  await db.deleteFrom('login_failures').where('username', '=', username).where('ip', '=', ip).execute();
}

export async function pruneLoginFailures(db: DB, before: string): Promise<void> {
  await db.deleteFrom('login_failures').where('created_at', '<=', before).execute();
}
