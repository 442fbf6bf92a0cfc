import { newId } from './ids.ts';
import type { DB } from './open.ts';

/** Records a sign-up attempt from an address and answers its id and how many that address made since `since`. */
export async function recordSignupAttempt(
  db: DB,
  ip: string,
  nowMs: number,
  since: string,
): Promise<{ id: string; count: number; oldest: string | null }> {
  const id = newId(nowMs);
  await db
    .insertInto('signup_attempts')
    .values({ id, ip, created_at: new Date(nowMs).toISOString() })
    .execute();
  const row = await db
    .selectFrom('signup_attempts')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('count'),
      eb.fn.min<string | null>('created_at').as('oldest'),
    ])
    .where('ip', '=', ip)
    .where('created_at', '>', since)
    .executeTakeFirstOrThrow();
  return { id, count: Number(row.count), oldest: row.oldest ?? null };
}

export async function forgetSignupAttempt(db: DB, id: string): Promise<void> {
  await db.deleteFrom('signup_attempts').where('id', '=', id).execute();
}

export async function pruneSignupAttempts(db: DB, before: string): Promise<void> {
  await db.deleteFrom('signup_attempts').where('created_at', '<=', before).execute();
}
