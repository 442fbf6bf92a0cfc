import type { LoginThrottleConfig } from '../config.ts';
import {
  attemptsSince,
  clearLoginFailures,
  findLoginClient,
  forgetLoginAttempt,
  paceLoginClient,
  pruneLoginClients,
  pruneLoginFailures,
  recordLoginAttempt,
  trustLoginClient,
} from '../db/login-failures.ts';
import type { DB } from '../db/open.ts';
import { forgetSignupAttempt, pruneSignupAttempts, recordSignupAttempt } from '../db/signup-attempts.ts';
import { clientOf } from './client-address.ts';
import { RateLimitedError } from './rate-limited.ts';

/** The longest pause the per-username back-off asks a client for between two attempts, in seconds. */
const MAX_BACKOFF_SECONDS = 60;
/** How long a client that logged in as a user stays exempt from that user's back-off. */
const TRUSTED_CLIENT_MS = 30 * 24 * 3600 * 1000;

export interface LoginAttempt {
  id: string;
  username: string;
  /** The client (clientOf): an IPv4 address or an IPv6 /64. */
  client: string;
}

/**
 * Login and sign-up throttling kept in the database, so every server process sees the same
 * counts. Addresses are counted by client (client-address.ts): an IPv6 /64 is one client, an
 * IPv4-mapped address is its IPv4 address. An attempt is written before its password is hashed
 * and only then are the counts read, so of any number of concurrent attempts no more than the
 * limit go on to hash; the rest are refused (429 with Retry-After) and their rows removed again.
 * Limits, per window:
 * - failures of one username from one client: that pair waits until the window lets the
 *   oldest go (a stranger elsewhere cannot lock the user out);
 * - failures from one client, whatever the username;
 * - failures of one username from anywhere, past a much higher limit: not a lock-out but
 *   pacing. A client that logged in as that user within 30 days goes through as before; any
 *   other client is asked to wait (1 s, 2 s, 4 s … up to a minute, growing with the failures)
 *   before its attempt, and as long again before each next one. So a guesser gets one guess per
 *   pause per client, and the user, from anywhere, gets in after one pause at most;
 * - sign-ups from one client.
 */
export function createLoginThrottle(db: DB, config: LoginThrottleConfig) {
  const windowMs = config.windowSeconds * 1000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const untilOldestLeaves = (oldest: string | null, nowMs: number) =>
    Math.max(1, Math.ceil(((oldest ? Date.parse(oldest) : nowMs) + windowMs - nowMs) / 1000));

  /** The pause the per-username back-off asks for, in seconds, or null below its limit. */
  function backoff(failures: number): number | null {
    const excess = failures - config.maxFailuresPerUserGlobal;
    return excess > 0 ? Math.min(MAX_BACKOFF_SECONDS, 2 ** Math.min(excess - 1, 30)) : null;
  }

  /** Seconds this client must still wait under the back-off, or null when it may try now. */
  async function paced(username: string, client: string, pauseSeconds: number, nowMs: number) {
    const standing = await findLoginClient(db, username, client);
    if (standing?.trustedAt && Date.parse(standing.trustedAt) > nowMs - TRUSTED_CLIENT_MS) return null;
    const pace = await paceLoginClient(db, username, client, iso(nowMs), iso(nowMs - pauseSeconds * 1000));
    if (pace.ready) return null;
    return Math.max(1, Math.ceil((Date.parse(pace.since) + pauseSeconds * 1000 - nowMs) / 1000));
  }

  return {
    /** Counts a login attempt; throws RateLimitedError (and forgets it) when over a limit. */
    async admit(username: string, ip: string, nowMs: number): Promise<LoginAttempt> {
      const client = clientOf(ip);
      const id = await recordLoginAttempt(db, { username, ip: client, nowMs });
      const since = iso(nowMs - windowMs);
      const [pair, byClient, byUser] = await Promise.all([
        attemptsSince(db, { username, ip: client }, since, id),
        attemptsSince(db, { ip: client }, since, id),
        attemptsSince(db, { username }, since, id),
      ]);
      const waits: number[] = [];
      if (pair.count > config.maxFailuresPerUser) waits.push(untilOldestLeaves(pair.oldest, nowMs));
      if (byClient.count > config.maxFailuresPerAddress) waits.push(untilOldestLeaves(byClient.oldest, nowMs));
      if (waits.length > 0) {
        await forgetLoginAttempt(db, id);
        throw new RateLimitedError(Math.max(...waits), 'too many failed logins; try again later');
      }
      const pause = backoff(byUser.count);
      const wait = pause === null ? null : await paced(username, client, pause, nowMs);
      if (wait !== null) {
        await forgetLoginAttempt(db, id);
        throw new RateLimitedError(
          wait,
          `many failed logins for this account: wait ${wait} s, then try again (the next attempt from here is let through)`,
        );
      }
      return { id, username, client };
    },
    /** The password was wrong: the attempt stays counted. */
    async failed(_attempt: LoginAttempt, nowMs: number): Promise<void> {
      await pruneLoginFailures(db, iso(nowMs - windowMs));
      await pruneLoginClients(db, iso(nowMs - TRUSTED_CLIENT_MS), iso(nowMs - windowMs));
    },
    /** Forgets that client's failures for that user, this attempt with them; the client is trusted for that user. */
    async succeeded(attempt: LoginAttempt, nowMs: number): Promise<void> {
      await clearLoginFailures(db, attempt.username, attempt.client);
      await trustLoginClient(db, attempt.username, attempt.client, iso(nowMs));
    },
    /** The password was never checked (the server was busy, or failed): the attempt does not count. */
    async abandon(attempt: LoginAttempt): Promise<void> {
      await forgetLoginAttempt(db, attempt.id);
    },
    /** Counts a sign-up from a client; throws RateLimitedError when over the limit. Answers a function that un-counts it. */
    async admitSignup(ip: string, nowMs: number): Promise<() => Promise<void>> {
      const since = iso(nowMs - windowMs);
      const { id, count, oldest } = await recordSignupAttempt(db, clientOf(ip), nowMs, since);
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
