import type { LoginThrottleConfig } from '../config.ts';
import {
  type AttemptWindow,
  attemptsSince,
  clearLoginFailures,
  forgetLoginAttempt,
  pruneLoginFailures,
  recordLoginAttempt,
} from '../db/login-failures.ts';
import type { DB } from '../db/open.ts';
import { forgetSignupAttempt, pruneSignupAttempts, recordSignupAttempt } from '../db/signup-attempts.ts';
import { RateLimitedError } from './work-queue.ts';

export { RateLimitedError };

/** The longest pause the per-username back-off asks for between two attempts, in seconds. */
const MAX_BACKOFF_SECONDS = 60;

export interface LoginAttempt {
  id: string;
  username: string;
  ip: string;
}

/**
 * Login and sign-up throttling kept in the database, so every server process sees the same
 * counts. An attempt is written before its password is hashed and only then are the counts read,
 * so of any number of concurrent attempts no more than the limit go on to hash; the rest are
 * refused (429) and their rows removed again. Limits, per window:
 * - failures of one username from one address (a stranger elsewhere cannot lock the user out);
 * - failures from one address, whatever the username;
 * - failures of one username from anywhere, past a much higher limit: not a lock-out but an
 *   exponential back-off (1 s, 2 s, 4 s … up to a minute between attempts), as OWASP's
 *   authentication cheat sheet suggests;
 * - sign-ups from one address.
 */
export function createLoginThrottle(db: DB, config: LoginThrottleConfig) {
  const windowMs = config.windowSeconds * 1000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const untilOldestLeaves = (oldest: string | null, nowMs: number) =>
    Math.max(1, Math.ceil(((oldest ? Date.parse(oldest) : nowMs) + windowMs - nowMs) / 1000));

  function backoff(byUser: AttemptWindow, nowMs: number): number | null {
    const excess = byUser.count - config.maxFailuresPerUserGlobal;
    if (excess <= 0 || !byUser.newestOther) return null;
    const pauseMs = Math.min(MAX_BACKOFF_SECONDS, 2 ** (excess - 1)) * 1000;
    const wait = Date.parse(byUser.newestOther) + pauseMs - nowMs;
    return wait > 0 ? Math.ceil(wait / 1000) : null;
  }

  return {
    /** Counts a login attempt; throws RateLimitedError (and forgets it) when over a limit. */
    async admit(username: string, ip: string, nowMs: number): Promise<LoginAttempt> {
      const id = await recordLoginAttempt(db, { username, ip, nowMs });
      const since = iso(nowMs - windowMs);
      const [pair, byIp, byUser] = await Promise.all([
        attemptsSince(db, { username, ip }, since, id),
        attemptsSince(db, { ip }, since, id),
        attemptsSince(db, { username }, since, id),
      ]);
      const waits: number[] = [];
      if (pair.count > config.maxFailuresPerUser) waits.push(untilOldestLeaves(pair.oldest, nowMs));
      if (byIp.count > config.maxFailuresPerAddress) waits.push(untilOldestLeaves(byIp.oldest, nowMs));
      const pause = backoff(byUser, nowMs);
      if (pause !== null) waits.push(pause);
      if (waits.length > 0) {
        await forgetLoginAttempt(db, id);
        throw new RateLimitedError(Math.max(...waits), 'too many failed logins; try again later');
      }
      return { id, username, ip };
    },
    /** The password was wrong: the attempt stays counted. */
    async failed(_attempt: LoginAttempt, nowMs: number): Promise<void> {
      await pruneLoginFailures(db, iso(nowMs - windowMs));
    },
    /** Forgets that address's failures for that user, this attempt with them. */
    async succeeded(attempt: LoginAttempt, _nowMs: number): Promise<void> {
      await clearLoginFailures(db, attempt.username, attempt.ip);
    },
    /** The password was never checked (the server was busy, or failed): the attempt does not count. */
    async abandon(attempt: LoginAttempt): Promise<void> {
      await forgetLoginAttempt(db, attempt.id);
    },
    /** Counts a sign-up from an address; throws RateLimitedError when over the limit. Answers a function that un-counts it. */
    async admitSignup(ip: string, nowMs: number): Promise<() => Promise<void>> {
      const since = iso(nowMs - windowMs);
      const { id, count, oldest } = await recordSignupAttempt(db, ip, nowMs, since);
      if (count > config.maxSignupsPerAddress) {
        await forgetSignupAttempt(db, id);
        await pruneSignupAttempts(db, since);
        throw new RateLimitedError(
          untilOldestLeaves(oldest, nowMs),
          'too many sign-ups from this address; try again later',
        );
      }
      return () => forgetSignupAttempt(db, id);
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
